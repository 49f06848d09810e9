"""Password hashing and secret encryption: the one owner of both."""
