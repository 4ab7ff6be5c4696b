"""The naming rules Argo enforces, each returning a message or None.

- object names (metadata.name): Kubernetes DNS-1123 subdomains, and Argo
  caps them at 63 characters (52 for CronWorkflows, which append a timestamp);
- template, step and task names: letters, digits and '-', starting with a
  letter or digit, at most 128 characters (no '_' and no '.');
- parameter and artifact names: letters, digits, '_' and '-';
- label keys and values, and annotation keys: Kubernetes' label syntax, and
  annotations at most 256 KiB in all.

See https://argo-workflows.readthedocs.io/en/latest/fields/ and
https://kubernetes.io/docs/concepts/overview/working-with-objects/names/.
"""

from __future__ import annotations

import re

__all__ = [
    "object_name_problem",
    "generate_name_problem",
    "namespace_problem",
    "field_name_problem",
    "param_name_problem",
    "is_resolved_template_name",
    "label_key_problem",
    "label_value_problem",
    "annotations_size_problem",
    "MAX_OBJECT_NAME",
    "MAX_CRON_NAME",
]

MAX_OBJECT_NAME = 63
MAX_CRON_NAME = 52
_MAX_SUBDOMAIN = 253
_MAX_FIELD_NAME = 128
_MAX_LABEL = 63
_MAX_ANNOTATIONS_BYTES = 256 * 1024

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_FIELD = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
_PARAM = re.compile(r"^[-a-zA-Z0-9_]+$")
_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
# Names resolve_workflow gives templates copied in from a templateRef; users
# cannot write these (':' is not allowed), so they never collide.
_RESOLVED = re.compile(r"^c?wftmpl:[^:]+:[^:]+$")


def is_resolved_template_name(name: str) -> bool:
    return bool(_RESOLVED.match(name))


def object_name_problem(name: str, limit: int = MAX_OBJECT_NAME) -> str | None:
    if len(name) > limit:
        return f"the name {name!r} is {len(name)} characters long; Argo allows at most {limit}"
    if not _SUBDOMAIN.match(name):
        return (
            f"the name {name!r} is not a valid Kubernetes name: use lowercase letters, digits, "
            "'-' and '.', starting and ending with a letter or digit (e.g. 'my-workflow')"
        )
    return None


def generate_name_problem(prefix: str) -> str | None:
    # Kubernetes appends a random suffix, so a trailing '-' is fine.
    candidate = prefix[:-1] + "a" if prefix.endswith("-") else prefix
    if len(prefix) > _MAX_SUBDOMAIN or not _SUBDOMAIN.match(candidate):
        return (
            f"generateName {prefix!r} is not a valid name prefix: use lowercase letters, digits, "
            "'-' and '.', e.g. 'my-workflow-'"
        )
    return None


def namespace_problem(namespace: str) -> str | None:
    if len(namespace) > MAX_OBJECT_NAME or not _LABEL.match(namespace):
        return (
            f"the namespace {namespace!r} is not valid: use at most 63 lowercase letters, digits "
            "and '-', starting and ending with a letter or digit"
        )
    return None


def dns_label_problem(what: str, name: str) -> str | None:
    """Container and volume names: Kubernetes DNS labels (they also name files and folders here)."""
    if len(name) > MAX_OBJECT_NAME or not _LABEL.match(name):
        return (
            f"{what} name {name!r} is not valid: use at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (Kubernetes' rule for it)"
        )
    return None


def field_name_problem(what: str, name: str) -> str | None:
    """For template, step and task names."""
    if len(name) > _MAX_FIELD_NAME:
        return f"{what} name {name!r} is {len(name)} characters long; Argo allows at most {_MAX_FIELD_NAME}"
    if not _FIELD.match(name):
        return (
            f"{what} name {name!r} is invalid: use letters, digits and '-', starting with a "
            "letter or digit (no '_', '.' or spaces)"
        )
    return None


def param_name_problem(what: str, name: str) -> str | None:
    """For parameter and artifact names."""
    if not _PARAM.match(name):
        return (
            f"{what} name {name!r} is invalid: use letters, digits, '_' and '-' (e.g. my_param-1)"
        )
    return None


def label_key_problem(what: str, key: str) -> str | None:
    """For label and annotation keys: `[DNS-subdomain prefix/]name`."""
    prefix, slash, name = key.rpartition("/")
    if (
        len(name) <= _MAX_LABEL
        and _LABEL_NAME.match(name)
        and (not slash or (len(prefix) <= _MAX_SUBDOMAIN and _SUBDOMAIN.match(prefix)))
    ):
        return None
    return (
        f"{what} key {key[:100]!r} is not valid: use at most 63 letters, digits, '-', '_' and '.', "
        "starting and ending with a letter or digit, optionally after a DNS prefix and '/' "
        "(e.g. 'app.kubernetes.io/name')"
    )


def label_value_problem(key: str, value: str) -> str | None:
    if value == "" or (len(value) <= _MAX_LABEL and _LABEL_NAME.match(value)):
        return None
    return (
        f"label {key[:100]!r} has the value {value[:100]!r}, which is not valid: use at most 63 "
        "letters, digits, '-', '_' and '.', starting and ending with a letter or digit (or leave it "
        "empty); put longer text in an annotation"
    )


def annotations_size_problem(annotations: dict[str, object]) -> str | None:
    size = sum(len(k) + len(v) for k, v in annotations.items() if isinstance(v, str))
    if size <= _MAX_ANNOTATIONS_BYTES:
        return None
    return (
        f"the annotations take {size:,} characters; Kubernetes allows at most "
        f"{_MAX_ANNOTATIONS_BYTES:,} in all, so pass large data as a parameter or an artifact"
    )
