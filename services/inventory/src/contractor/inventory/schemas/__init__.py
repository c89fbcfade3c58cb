"""Request and response models (the API's wire format)."""
