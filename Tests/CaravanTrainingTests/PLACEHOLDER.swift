// Replaced by the training service tests.
