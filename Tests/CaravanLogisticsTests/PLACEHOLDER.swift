// Replaced by the logistics service tests.
