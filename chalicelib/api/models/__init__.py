"""Request and response models, one module per area. Imported on first use (routes refer to them
as "area:Name"), so pydantic stays off the cold-import path."""
