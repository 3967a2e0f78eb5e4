// Replaced by the training service.
