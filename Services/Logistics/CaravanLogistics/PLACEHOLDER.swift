// Replaced by the logistics service.
