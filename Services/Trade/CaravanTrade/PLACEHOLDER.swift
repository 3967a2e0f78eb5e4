// Replaced by the trade service.
