"""Test stand-in; see the fixtures below."""
