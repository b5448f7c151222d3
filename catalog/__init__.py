"""Products, price lists, related products and the configurator (filled by the catalog issue)."""
