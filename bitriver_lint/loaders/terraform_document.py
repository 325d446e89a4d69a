"""What the Terraform loaders hand to the build stage: modules whose values are final.

A ``TerraformModule`` is one module instance (a root module, or a local module called from
one), read the way ``terraform plan`` reads it: one ``ResourceInstance`` per ``count`` index
or ``for_each`` key, after variables, tfvars, locals and module inputs. Every argument is a
``Located`` value (the value, or an ``Unknown`` naming what it rests on) at the position it is
written; nested blocks (``dynamic`` ones expanded) are ``Body``s of the same shape.

Builders and providers only read these. This module imports neither the expression
evaluator nor the HCL parser, so the import contracts can prove that the build stage never
evaluates or parses anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from bitriver_lint.model import Diagnostic, Located, Location, Unknown

# What a nested-block entry whose value is not known stands for: every field a rule reads from
# a nested block (ports, sources, paths, targets) is that Unknown, so rules note, not guess.
UNKNOWN_ENTRY_KEYS = ("from_port", "to_port", "protocol", "cidr_blocks", "ipv6_cidr_blocks", "security_groups",
                      "prefix_list_ids", "path", "port", "target_group_arn", "container_port")

# Why a reference is unknown when nothing in its module's files defines it (it dangles: BRL604).
UNDEFINED = "is not defined in this module"
# Why a resource's argument is unknown when the resource is defined but does not set it: the
# provider computes it when the resource is created (a load balancer's dns_name, a public_ip).
AFTER_APPLY = "is only known after apply"


_ZONE = re.compile(r"([a-z]{2}(?:-[a-z]+)+-\d+)[a-z]")


def region_of_zone(zone: Any) -> str | None:
    """The region an availability zone is in (``eu-west-1a`` -> ``eu-west-1``), or None."""
    found = _ZONE.fullmatch(zone.strip()) if isinstance(zone, str) else None
    return found.group(1) if found else None


class FileText(str):
    """Text read from a file of the tree by file()/templatefile(), which remembers the file, so
    positions inside it can be reported (``exact``: its lines are the file's lines)."""

    path: str
    exact: bool

    def __new__(cls, text: str, path: str, exact: bool) -> FileText:
        value = super().__new__(cls, text)
        value.path, value.exact = path, exact
        return value


@dataclass
class Body:
    """Evaluated arguments and nested blocks: of a resource instance, or of a nested block."""

    type: str  # the resource type for an instance; the block type for a nested block
    location: Location  # the block
    attributes: dict[str, Located[Any]] = field(default_factory=dict)  # at the value's position
    blocks: list[Body] = field(default_factory=list)  # in the order written, dynamic ones expanded
    keys: dict[str, Location] = field(default_factory=dict)  # where each argument's name is written

    def get(self, name: str) -> Located[Any] | None:
        return self.attributes.get(name)

    def arg(self, name: str, default: Any = None) -> Any:
        """The argument's value (an Unknown when it cannot be known), or ``default`` when unset."""
        found = self.attributes.get(name)
        return default if found is None else found.value

    def key_location(self, name: str) -> Location:
        """Where the argument's name is written (the block when it is not)."""
        return self.keys.get(name, self.location)

    def nested(self, *block_types: str) -> list[Body]:
        """The nested blocks of these types, in the order written. A type written as an
        argument instead (``ingress = [{...}]``, which the AWS provider also accepts) gives one
        block per entry; an entry that cannot be known gives one whose fields are all Unknown."""
        out = [b for b in self.blocks if b.type in block_types]
        for block_type in block_types:
            if block_type in self.attributes and not any(b.type == block_type for b in out):
                out.extend(self._argument_blocks(block_type))
        return out

    def first(self, block_type: str) -> Body | None:
        return next(iter(self.nested(block_type)), None)

    def _argument_blocks(self, name: str) -> list[Body]:
        located = self.attributes[name]
        value = located.value
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(i, (dict, Unknown)) for i in items):
            return []
        key = self.key_location(name)
        blocks: list[Body] = []
        for item in items:
            fields = item if isinstance(item, dict) else dict.fromkeys(UNKNOWN_ENTRY_KEYS, item)
            values = {str(k): Located(v, located.location) for k, v in fields.items()}
            blocks.append(Body(name, located.location, values, [], dict.fromkeys(values, key)))
        return blocks


@dataclass
class ResourceInstance(Body):
    """One instance of a ``resource`` (or ``data``) block: ``aws_instance.api[0]``."""

    name: str = ""
    address: str = ""  # within its module: aws_instance.api[0], aws_security_group.lb["web"]
    module: str = ""  # the module path in front of it: "module.cdn." ("" in a root module)
    mode: Literal["managed", "data"] = "managed"
    key: int | str | None = None  # count.index or each.key; None for a single instance
    provider: str = ""  # the provider configuration it uses: "aws", "aws.west"
    region: str | None = None  # that configuration's region, as far as the files say
    siblings: int = 1  # how many instances its resource has, this one included

    @property
    def label(self) -> str:
        """What a reader calls it: its resource's address when the resource has only this
        instance (``count = var.create ? 1 : 0`` gives ``aws_lb.this``), else its own."""
        return self.ref if self.siblings == 1 else self.address

    @property
    def full_label(self) -> str:
        return self.module + self.label

    @property
    def ref(self) -> str:
        """The resource it is an instance of, as references name it: ``aws_instance.api``."""
        return f"{'data.' if self.mode == 'data' else ''}{self.type}.{self.name}"

    def unknown_expansion(self) -> Located[Any] | None:
        """Its ``count`` or ``for_each`` when that cannot be known (``count = var.replicas``
        with no value): the loader then made this one instance stand for however many there
        are, so a rule that counts instances must note this, not count one."""
        for name in ("count", "for_each"):
            found = self.attributes.get(name)
            if found is not None and isinstance(found.value, Unknown):
                return found
        return None

    @property
    def full_address(self) -> str:
        """The address with its module path: ``module.cdn.aws_s3_bucket.logs``."""
        return self.module + self.address

    def named_by(self, reference: Any) -> bool:
        """Whether an evaluated reference (``aws_lb.this``, ``aws_lb.this[0]``) names this
        instance: its own address, or its resource as a whole."""
        if not isinstance(reference, str):
            return False
        return reference in (self.address, self.ref) or reference.split("[")[0] == self.address


@dataclass
class ProviderConfig(Body):
    """A ``provider`` block: ``provider "aws" { alias = "west" region = "us-west-2" }``."""

    name: str = ""
    alias: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}.{self.alias}" if self.alias else self.name


@dataclass(frozen=True)
class SecretLiteral:
    """A value written as a plain literal under a name that looks secret (a password in a
    resource, a variable default, a tfvars assignment)."""

    name: str
    value: str
    location: Location
    tfvars: str | None = None  # the *.tfvars file it is assigned in (committed unless git ignores it)


@dataclass
class TerraformModule:
    """One module instance, every value evaluated."""

    directory: str
    files: list[str]
    prefix: str = ""  # "module.cdn." for an instance of a local module
    root: str | None = None  # the directory of the root module this instance belongs to
    called_at: Location | None = None  # the root module's ``module`` block this instance comes from
    # A root module that is planned on its own (it has provider, terraform or backend blocks,
    # or tfvars): an environment of its own unless a join ties it to another.
    environment: bool = False
    variables: dict[str, Located[Any]] = field(default_factory=dict)
    locals: dict[str, Located[Any]] = field(default_factory=dict)
    sensitive: set[str] = field(default_factory=set)  # variables declared ``sensitive``
    region: str | None = None  # its providers' region (a module called from a root inherits the root's)
    providers: list[ProviderConfig] = field(default_factory=list)
    resources: list[ResourceInstance] = field(default_factory=list)  # managed ones, in the order written
    data: list[ResourceInstance] = field(default_factory=list)  # data sources
    secrets: list[SecretLiteral] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Every module instance of the same root, this one included: what plan joins through module
    # outputs (a rule in the root on a group a called module creates) crosses them.
    family: list[TerraformModule] = field(default_factory=list, repr=False, compare=False)
    _by_type: dict[str, list[ResourceInstance]] | None = field(default=None, repr=False, compare=False)
    _by_ref: dict[str, list[ResourceInstance]] | None = field(default=None, repr=False, compare=False)

    @property
    def root_directory(self) -> str:
        """The root module's directory: where this instance's environment lives."""
        return self.root if self.root is not None else self.directory

    def of_type(self, *resource_types: str) -> list[ResourceInstance]:
        """The instances of these resource types: type by type, each in the order written."""
        if self._by_type is None:
            self._by_type = {}
            for instance in self.resources:
                self._by_type.setdefault(instance.type, []).append(instance)
        return [i for t in resource_types for i in self._by_type.get(t, [])]

    def of_resource(self, ref: str) -> list[ResourceInstance]:
        """The instances of one resource (``aws_instance.api``), in order."""
        if self._by_ref is None:
            self._by_ref = {}
            for instance in self.resources:
                self._by_ref.setdefault(instance.ref, []).append(instance)
        return self._by_ref.get(ref, [])

    def find(self, resource_type: str, reference: Any) -> ResourceInstance | None:
        """The instance of ``resource_type`` a reference names: exactly, else the first of its
        resource."""
        candidates = [i for i in self.of_type(resource_type) if i.named_by(reference)]
        return next((i for i in candidates if i.address == reference), candidates[0] if candidates else None)

    def data_source(self, data_type: str, name: str) -> ResourceInstance | None:
        return next((d for d in self.data if d.type == data_type and d.name == name), None)
