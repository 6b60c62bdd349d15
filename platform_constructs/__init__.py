"""Reusable, typed, validated constructs: one construct per module.

Import each from its module (``from platform_constructs.private_vpc import
PrivateVpc``): importing this package itself loads no provider package.
"""
