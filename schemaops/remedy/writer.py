"""Remedies as migration files, written as Django's own MigrationWriter and serializer write them.

:func:`layout` turns one migration and the remedies of some of its operations
into the files that replace it. The last pre-deploy file keeps the original
name, so migrations that depend on it stay valid; the ones before it are
``<name>_<n>_<role>``; post-deploy files (``<name>_post``) come after the
app's leaf migration, so the app keeps a single leaf. Every file that does
database work bounds its lock waits itself (:mod:`schemaops.remedy.timeouts`).
"""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from schemaops.defaults import LOCK_TIMEOUT
from schemaops.remedy.timeouts import with_lock_timeout

if TYPE_CHECKING:
    from schemaops.remedy.planner import MigrationSpec, Remedy

INLINE_LIMIT = 60  # lines of code shown in a report; longer plans are left to `schemaops fix`
_CLASS_LINE = "class Migration(migrations.Migration):\n"


@dataclass
class PlannedFile:
    """One migration module to write: its name (no ``.py``), code and phase."""

    name: str
    code: str
    post: bool = False
    atomic: bool = True
    # why it would not import: what its operations take from a migration module and
    # could not be copied, or what Django's writer cannot serialize (a lambda)
    uncopied: list[str] = field(default_factory=list)


def dependency(dep: Any) -> tuple[str, str]:
    """A dependency as MigrationWriter writes it: the swappable ones stay swappable.

    A loaded migration's ``swappable_dependency(settings.AUTH_USER_MODEL)`` keeps
    only the setting's value (``"auth.User"``); the setting's name is found again
    among the swappable models' settings.
    """
    value = getattr(dep, "setting", None)
    name = _swappable_setting(value) if value else None
    return ("__setting__", name) if name else (dep[0], dep[1])


def _swappable_setting(value: str) -> str | None:
    from django.apps import apps
    from django.conf import settings

    for model in apps.get_models(include_swapped=True):
        name = model._meta.swappable
        if name and getattr(settings, name, None) == value:
            return str(name)
    return None


def migration_module(
    app_label: str,
    name: str,
    spec_operations: list[Any],
    dependencies: list[Any],
    *,
    atomic: bool = True,
    post: bool = False,
    initial: bool = False,
    home: str | None = None,
    keep_classes: bool = False,
    uncopied: list[str] | None = None,
    parts: WrittenParts | None = None,
) -> str:
    """A complete migration module, as Django's writer writes it (imports, swappable
    dependencies), see :func:`module_text`.

    What the operations take from a migration module (``home``, the module being
    replaced, or any whose name Django's writer finds unimportable: a function of
    ``RunPython``, a field default, a custom operation class) is copied into the
    module with what it needs, see :func:`with_local_definitions`. ``keep_classes``
    writes operations of classes defined in a migration module as they are (the
    migration's own operations, kept) instead of as the Django class they extend.
    Why the module would not import (a name that could not be copied, a lambda the
    writer cannot serialize) is appended to ``uncopied``. ``parts``: what earlier
    modules of the same run serialized already (None: nothing is shared).
    """
    operations = [op if keep_classes else importable(op) for op in spec_operations]
    try:
        code = module_text(
            operations, [dependency(d) for d in dependencies], initial, parts or WrittenParts()
        )
    except ValueError as exc:  # a lambda or a nested function: nothing can name it
        if uncopied is not None:
            uncopied.append(str(exc))
        return f"# schemaops cannot write this migration: {exc}\n"
    code, missing = with_local_definitions(code, home)
    if uncopied is not None:
        uncopied.extend(missing)
    extra = ""
    if not atomic:
        extra += "    atomic = False  # CONCURRENTLY cannot run inside a transaction\n"
    if post:
        extra += '    deploy_phase = "post"  # contract: apply after the new code is live\n'
    if extra:
        code = code.replace(_CLASS_LINE, _CLASS_LINE + extra, 1)
    return code


class WrittenParts:
    """Operations and dependencies as Django's writer serializes them, each serialized once.

    ``check`` writes up to three files for every remedy (1,600 at 1,000 migrations), and
    most of their parts recur: the same lock_timeout operations open and close every
    atomic file (:func:`~schemaops.remedy.timeouts.with_lock_timeout` gives them all the
    same two objects), a migration's kept operations appear in the layout of each of its
    other remedies, and the same dependencies recur. Operations are keyed by identity
    (an operation is not changed once planned; the object is held, so its id is not
    reused while the parts live), dependencies by value.
    """

    def __init__(self) -> None:
        self._operations: dict[int, tuple[Any, str, frozenset[str]]] = {}
        self._dependencies: dict[tuple[str, str], str] = {}

    def operation(self, op: Any) -> tuple[str, frozenset[str]]:
        """Django's ``OperationWriter(op).serialize()``: the code and the imports it needs."""
        known = self._operations.get(id(op))
        if known is None:
            from django.db.migrations.writer import OperationWriter

            text, imports = OperationWriter(op).serialize()
            known = self._operations[id(op)] = (op, text, frozenset(imports))
        return known[1], known[2]

    def dependency(self, dep: tuple[str, str]) -> str:
        """Django's serialization of an ``(app_label, migration)`` dependency."""
        text = self._dependencies.get(dep)
        if text is None:
            from django.db.migrations.writer import MigrationWriter

            text = self._dependencies[dep] = MigrationWriter.serialize(dep)[0]
        return text


def module_text(
    operations: list[Any], dependencies: list[tuple[str, str]], initial: bool, parts: WrittenParts
) -> str:
    """What Django's ``MigrationWriter(migration, include_header=False).as_string()`` returns
    for a migration of ``operations`` and ``dependencies``, assembled the way it assembles it
    (Django's template, its import sorting) from parts serialized once (``parts``) instead of
    again for every file. ``tests/remedy/test_writer_parts.py`` holds it to ``as_string``.
    """
    from django.db.migrations.writer import MIGRATION_TEMPLATE

    imports: set[str] = set()
    texts = []
    for op in operations:
        text, needs = parts.operation(op)
        imports.update(needs)
        texts.append(text)
    deps = []
    for dep in dependencies:
        if dep[0] == "__setting__":
            deps.append(f"        migrations.swappable_dependency(settings.{dep[1]}),")
            imports.add("from django.conf import settings")
        else:
            deps.append(f"        {parts.dependency(dep)},")
    # modules Django's writer cannot import (a migration module's functions): named in
    # its comment asking for manual copying, see with_local_definitions
    manual = {line.split("import")[1].strip() for line in imports if _MIGRATION_IMPORT.match(line)}
    imports = {line for line in imports if not _MIGRATION_IMPORT.match(line)}
    if "from django.db import models" in imports:
        imports.discard("from django.db import models")
        imports.add("from django.db import migrations, models")
    else:
        imports.add("from django.db import migrations")
    ordered = sorted(imports, key=lambda i: (i.split()[0] == "from", i.split()[1]))
    header = "\n".join(ordered) + "\n"
    if manual:
        header += _MANUAL + "\n# ".join(sorted(manual))
    return MIGRATION_TEMPLATE % {
        "migration_header": "",
        "imports": header,
        "replaces_str": "",
        "initial_str": "\n    initial = True\n" if initial else "",
        "atomic_str": "",  # Django 6 writes atomic = False itself: these are atomic to it
        "run_before_str": "",
        "dependencies": "\n".join(sorted(deps)) + "\n" if deps else "",
        "operations": "\n".join(texts) + "\n" if texts else "",
    }


# an import line of a migration module (``import shop.migrations.0002_change``), as
# Django's writer recognizes one
_MIGRATION_IMPORT = re.compile(r"^import (.*)\.\d+[^\s]*$")


_MANUAL = (  # what Django's writer adds for the migration modules it cannot import
    "\n\n# Functions from the following migrations need manual copying.\n"
    "# Move them and any dependencies into this file, then update the\n"
    "# RunPython operations to refer to the local versions:\n# "
)


def with_local_definitions(code: str, home: str | None) -> tuple[str, list[str]]:
    """``code`` with what it takes from migration modules copied in, referenced by local name.

    Django's writer names a function or class by its module, and a migration
    module's name is no import (``import shop.migrations.0002_change``: it drops
    the line and asks, in a comment, for manual copying); the module being
    replaced cannot import itself either. The top-level definitions needed (the
    function, the helpers and constants it reads, the imports those need) are
    copied from the module's source, above the ``Migration`` class. Returns the
    code and why it could not be made to import (the code then keeps Django's text).
    """
    modules: set[str] = set()
    text = code
    if _MANUAL in code:
        listed = code.split(_MANUAL, 1)[1].split("\n# ")
        listed[-1] = listed[-1].split("\n", 1)[0]
        modules |= set(listed)
        text = code.replace(_MANUAL + "\n# ".join(listed), "", 1)
    if home and (f"import {home}\n" in code or f"{home}." in code):
        modules.add(home)
    if not modules:
        return code, []
    wanted: dict[str, set[str]] = {}
    for module in sorted(modules, key=len, reverse=True):
        text = text.replace(f"import {module}\n", "")

        def local(match: re.Match[str], module: str = module) -> str:
            wanted.setdefault(module, set()).add(match.group(1))
            return match.group(1)

        text = re.sub(rf"(?<![\w.]){re.escape(module)}\.([A-Za-z_]\w*)", local, text)
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return code, [f"the code written does not compile ({exc.msg})"]
    from schemaops.remedy.definitions import needed_source

    bound = frozenset(
        (a.asname or a.name).split(".")[0]
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for a in node.names
    )
    chunks: list[str] = []
    for module, names in sorted(wanted.items()):
        found = sys.modules.get(module)
        copied = needed_source(found, names, bound) if found is not None else None
        if copied is None:
            return code, [f"{', '.join(sorted(names))}: not found at the top of {module}'s source"]
        chunks.extend(c for c in copied if c not in chunks)
    imports = [c for c in chunks if c.startswith(("import ", "from "))]
    at = text.find(_CLASS_LINE)
    if at < 0:
        return code, ["no Migration class written"]
    head = text[:at].rstrip("\n") + "\n"  # Django's imports, then the copied ones
    head += "".join(f"{c}\n" for c in imports) + "\n\n"
    head += "".join(f"{c.rstrip()}\n\n\n" for c in chunks if c not in imports)
    return head + text[at:], []


def importable(op: Any) -> Any:
    """``op``, or the same operation as Django's own class when its class lives in a
    migration module (``cms/migrations/0044_slug.py``): a name no file can import.

    Only the state half of such an operation is ever written (the database half is
    the planner's own statements), and that comes from the Django class it extends.
    """
    from django.db import migrations

    from schemaops.remedy.code import django_kind

    if isinstance(op, migrations.SeparateDatabaseAndState):
        return migrations.SeparateDatabaseAndState(
            state_operations=[importable(o) for o in op.state_operations],
            database_operations=[importable(o) for o in op.database_operations],
        )
    module = type(op).__module__
    if module.startswith("django.") or ".migrations." not in f".{module}.":
        return op
    base = getattr(migrations, django_kind(op), None)
    if base is None or base is type(op):
        return op
    _name, args, kwargs = op.deconstruct()
    return base(*args, **kwargs)


def layout(
    app_label: str,
    migration: Any,
    remedies: dict[int, Remedy],
    *,
    leaf: str,
    post_phase: bool = False,
    lock_timeout: str = LOCK_TIMEOUT,
    parts: WrittenParts | None = None,
) -> list[PlannedFile]:
    """The files replacing ``migration`` when the operations in ``remedies`` are remedied.

    Safe operations stay in order between the remedies' migrations. ``leaf``
    is the app's latest migration (post-deploy files depend on it). Each file
    sets ``lock_timeout`` (the project's ``lock-timeout``) itself, see
    :func:`~schemaops.remedy.timeouts.with_lock_timeout`. ``parts``: what the
    run's other layouts serialized already (:class:`WrittenParts`).
    """
    segments: list[tuple[str, list[Any], bool, bool]] = []  # role, ops, atomic, post
    keep: list[Any] = []
    atomic = bool(getattr(migration, "atomic", True))
    post_files: list[MigrationSpec] = []
    for index, op in enumerate(migration.operations):
        remedy = remedies.get(index)
        if remedy is None or remedy.advice:  # advice only: the operation stays
            keep.append(op)
            continue
        if keep:
            segments.append(("keep", keep, atomic, post_phase))
            keep = []
        for spec in remedy.pre:
            segments.append((spec.role, spec.operations, spec.atomic, post_phase))
        post_files.extend(remedy.post)
    if keep or not segments:
        segments.append(("keep", keep, atomic, post_phase))
    parts = parts or WrittenParts()
    files = _named(app_label, migration, segments, post_files, leaf, lock_timeout, parts)
    notes = [line for index in sorted(remedies) for line in remedies[index].instructions]
    if notes:  # what the user must do besides these files, where they read the files
        files[len(segments) - 1].code = (
            "".join(f"# {n}\n" for n in notes) + files[len(segments) - 1].code
        )
    return files


def _named(
    app_label: str,
    migration: Any,
    segments: list[tuple[str, list[Any], bool, bool]],
    post_files: list[MigrationSpec],
    leaf: str,
    lock_timeout: str,
    parts: WrittenParts,
) -> list[PlannedFile]:
    name = migration.name
    home = type(migration).__module__
    files: list[PlannedFile] = []
    deps: list[Any] = list(migration.dependencies)
    for n, (role, ops, atomic, post) in enumerate(segments, start=1):
        last = n == len(segments)
        file_name = name if last else f"{name}_{n}_{role}"
        uncopied: list[str] = []
        kept = role == "keep"  # the migration's own operations, as they are
        code = migration_module(
            app_label,
            file_name,
            with_lock_timeout(ops, lock_timeout, atomic=atomic, rewrite_sql=not kept),
            deps,
            atomic=atomic,
            post=post,
            initial=bool(getattr(migration, "initial", False)) and n == 1,
            home=home,
            keep_classes=kept,
            uncopied=uncopied,
            parts=parts,
        )
        files.append(PlannedFile(file_name, code, post, atomic, uncopied))
        deps = [(app_label, file_name)]
    after = leaf
    for n, spec in enumerate(post_files, start=1):
        file_name = f"{name}_post" if n == 1 else f"{name}_post_{n}"
        deps = sorted({(app_label, name), (app_label, after)})
        uncopied = []
        code = migration_module(
            app_label,
            file_name,
            with_lock_timeout(spec.operations, lock_timeout, atomic=spec.atomic),
            deps,
            atomic=spec.atomic,
            post=True,
            home=home,
            uncopied=uncopied,
            parts=parts,
        )
        files.append(PlannedFile(file_name, code, True, spec.atomic, uncopied))
        after = file_name
    return files


def remedy_text(remedy: Remedy, files: list[PlannedFile], fix_command: str) -> str:
    """What a report shows as an operation's remedy: the plan, and its files when short."""
    lines = [f"# {remedy.summary}"]
    if remedy.backfill:
        lines.append(f"# {remedy.backfill}")
    lines.extend(f"# {line}" for line in remedy.instructions)
    if remedy.advice:
        return "\n".join([*lines, f"# `{fix_command}` writes nothing for it"])
    lines.append(f"# `{fix_command}` writes: " + ", ".join(f"{f.name}.py" for f in files))
    body = []
    for f in files:
        phase = "after the deploy" if f.post else "before the deploy"
        body.append(f"# --- {f.name}.py ({phase})")
        body.extend(f.code.rstrip().splitlines())
    if len(body) <= INLINE_LIMIT:
        lines.extend(body)
    else:
        lines.append(f"# ({len(body)} lines: too long to show here; run `{fix_command} --dry-run`)")
    return "\n".join(lines)
