"""Secrets written as literals in committed files."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from bitriver_lint.checks.base import Check, CheckContext, Params
from bitriver_lint.model import Interpolated, Location

_SECRET_KEY = r"(PASSWORD|PASSWD|PASS|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|CREDENTIALS?|AUTH_?KEY)"
# Keys that name where a secret is, not the secret itself.
# A ``_POLICY`` states the rules a secret must follow (Keycloak's password_policy = "length(8)").
# Terraform names may be hyphenated (``pull-secret-name``): a hyphen parts the words as well.
_NOT_A_SECRET = (r"[_-](FILE|PATH|DIR|URL|URI|ENDPOINT|HOST|PORT|USER|USERNAME|ID|NAME|TTL|LENGTH|EXPIRY"
                 r"|POLICY)$")


class SecretParams(Params):
    key_pattern: str = _SECRET_KEY
    ignore_key_pattern: str = _NOT_A_SECRET


# Values that switch or choose a mode rather than being a secret (MYSQL_ALLOW_EMPTY_PASSWORD=no,
# MYSQL_RANDOM_ROOT_PASSWORD=yes, Terraform's http_tokens = "required" for IMDSv2).
_SETTING_WORDS = frozenset((
    "true", "false", "yes", "no", "on", "off", "y", "n", "enabled", "disabled", "enable", "disable",
    "required", "optional", "none", "null", "auto", "always", "never", "strict", "lax", "allow", "deny",
))
_NUMBER_OR_DURATION = re.compile(r"[-+]?\d+(\.\d+)?([a-z]{1,3}|%)?|(\d+(ms|s|m|h|d|w))+", re.IGNORECASE)
# A number is a secret's measure, not the secret, where the key says so (SECRET_FILE_SIZE=10,
# TOKEN_TTL_SECONDS=3600); POSTGRES_PASSWORD=123456 is still a literal password.
_MEASURE_KEY = re.compile(r"(SIZE|TTL|SECONDS?|MINUTES?|HOURS?|DAYS?|LENGTH|LEN|MIN|MAX|COUNT|TIMEOUT|EXPIR|AGE|"
                          r"LIMIT|ROUNDS|RETRIES|ATTEMPTS|INTERVAL|BITS|LIFETIME|LIFESPAN|DURATION|PERIOD)",
                          re.IGNORECASE)
# A fill-in placeholder of an example env file (POSTGRES_PASSWORD=<MY POSTGRES PASSWORD>): the
# slot for a secret the operator writes in, not a secret. Only a value that is one bracketed
# phrase counts; "hunter2<2>" is a literal.
_FILL_IN = re.compile(r"<[^<>]+>")


def _unquoted(value: str) -> str:
    """A value without one pair of quotes around it, which docker's --env-file keeps as part of
    the value: quoted or not, it holds the same secret, or none."""
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1].strip()
    return text


def _literal(key: str, value: object) -> bool:
    if not isinstance(value, str) or isinstance(value, Interpolated):
        return False
    text = _unquoted(value)
    if not text or text.lower() in _SETTING_WORDS:
        return False
    if _NUMBER_OR_DURATION.fullmatch(text) and _MEASURE_KEY.search(key):
        return False
    if _FILL_IN.fullmatch(text):
        return False
    return not text.startswith(("/run/secrets/", "${", "$(", "{{"))


def _url_password(value: object) -> bool:
    if not isinstance(value, str) or isinstance(value, Interpolated) or "://" not in value:
        return False
    try:
        password = urlsplit(_unquoted(value)).password
    except ValueError:
        return False
    return bool(password) and "$" not in (password or "")


def _plaintext(ctx: CheckContext, params: SecretParams) -> None:
    key_re = re.compile(params.key_pattern, re.IGNORECASE)
    skip_re = re.compile(params.ignore_key_pattern, re.IGNORECASE)
    reported: set[Location] = set()

    def consider(key: str, value: object, location: Location, where: str, entity: str) -> None:
        if location in reported:
            return
        if _url_password(value):
            reported.add(location)
            ctx.report(f"{key} in {where} embeds a literal password in its URL; reference a secret instead", location,
                       entity=entity)
        elif key_re.search(key) and not skip_re.search(key) and _literal(key, value):
            reported.add(location)
            ctx.report(f"{key} in {where} is a literal secret; reference a variable or secrets manager instead",
                       location, entity=entity)

    for setting in ctx.graph.settings:
        if setting.committed and setting.value.startswith("-----BEGIN"):
            reported.add(setting.location)
            ctx.report(f"a private key is committed in {setting.location.path}; keep it out of the repository "
                       "and provide it at deploy time (a secrets manager, or a git-ignored file)", setting.location,
                       entity=setting.key)
        elif setting.committed:
            consider(setting.key, setting.value, setting.location, setting.location.path, setting.key)
    for component in ctx.graph.components():
        for key, value in component.env.items():
            if value.location.path in ctx.graph.uncommitted:
                continue
            consider(key, value.value, value.location, component.name, f"{component.name}:{key}")


PLAINTEXT = Check("secret.plaintext", _plaintext, SecretParams, "No literal secrets in committed files")

# What this module offers the registry in bitriver_lint/checks/__init__.py.
CHECKS = (PLAINTEXT,)
