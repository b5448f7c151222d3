"""The public configurator's "request a quote" pages (no login)."""

public_urlpatterns: list = []
