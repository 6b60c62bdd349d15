"""The platform's services, one package each (see registry.py). Kept empty: importing a
service's config or builders must not load cdktf."""
