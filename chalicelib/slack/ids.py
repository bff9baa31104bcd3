"""What Slack's channel and user-group references look like, for the team directory and the answer.

One definition, so a channel the directory accepts is one the answer can render.
"""

from __future__ import annotations

import re

CHANNEL_NAME = re.compile(r"#[a-z0-9_-]{1,80}")
"""'#name' as Slack allows it: lowercase letters, digits, - and _, at most 80 characters."""
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{8,20}")
"""A public (C…) or private (G…) channel id such as C0123ABCD; ids survive renames."""
USER_GROUP_ID = re.compile(r"S[A-Z0-9]{1,20}")
"""A user-group (subteam) id such as S0123ABCD."""


def is_channel(value: str) -> bool:
    return CHANNEL_NAME.fullmatch(value) is not None or CHANNEL_ID.fullmatch(value) is not None


def is_user_group(value: str) -> bool:
    return USER_GROUP_ID.fullmatch(value) is not None
