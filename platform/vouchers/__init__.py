"""Prepaid vouchers: batches, sale, redemption onto a main balance, expiry and breakage."""
