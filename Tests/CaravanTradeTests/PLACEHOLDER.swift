// Replaced by the trade service tests.
