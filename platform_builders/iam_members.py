"""IAM member strings: what the additive *_iam_member resources accept from config."""

from __future__ import annotations

import re
from collections.abc import Iterable

#: The member kinds people are granted here (never allUsers / allAuthenticatedUsers).
IAM_MEMBER = re.compile(r"(user|group|domain|serviceAccount):\S+")


def not_iam_members(members: Iterable[str]) -> list[str]:
    """The entries that are not user:/group:/domain:/serviceAccount:<name>, sorted."""
    return sorted({m for m in members if not IAM_MEMBER.fullmatch(m)})
