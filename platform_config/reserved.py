"""Names the platform keeps for itself: hosts, namespaces, app keys and labels
that no config entry may take, and how a namespace glob is matched against them."""

from __future__ import annotations

from platform_services.registry import fixed_namespaces

#: Host names the platform itself uses under the domain; apps cannot take them.
RESERVED_HOSTS = frozenset({"argocd"})
#: Namespaces apps cannot take: Kubernetes' and GKE's own, and every namespace
#: the platform installs into (an app next to External Secrets would sit next
#: to the identity that reads Secret Manager).
RESERVED_NAMESPACES = frozenset({"default"}) | fixed_namespaces()
RESERVED_NAMESPACE_PREFIXES = ("kube-", "gke-", "gmp-")
#: App keys the platform uses for its own Argo CD Applications and construct ids
#: (the root app-of-apps is `app-root`; Argo CD manages itself).
RESERVED_APP_KEYS = frozenset({"root", "argocd", "argo-cd"})
#: Label keys the platform sets itself (a config value would be overwritten).
RESERVED_LABEL_KEYS = frozenset({"managed-by", "environment", "pool"})
RESERVED_LABEL_PREFIXES = ("goog",)


def namespace_glob_clash(glob: str, forbidden: frozenset[str]) -> str | None:
    """The first of `forbidden` that some namespace matching `glob` also matches.

    Both sides are names or name prefixes ending in '*' (NamespaceGlob): two
    prefixes overlap when one starts with the other.
    """

    def family(entry: str) -> tuple[str, bool]:
        return (entry[:-1], True) if entry.endswith("*") else (entry, False)

    prefix, open_ = family(glob)
    for entry in sorted(forbidden):
        other, other_open = family(entry)
        if (
            (not open_ and not other_open and prefix == other)
            or (open_ and not other_open and other.startswith(prefix))
            or (not open_ and other_open and prefix.startswith(other))
            or (open_ and other_open and (prefix.startswith(other) or other.startswith(prefix)))
        ):
            return f"the namespace {entry!r}" if not other_open else f"the namespaces {entry}"
    return None
