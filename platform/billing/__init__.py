"""The billing cycle: usage, the month-end bill run, invoices, payments, credits (issue 3)."""
