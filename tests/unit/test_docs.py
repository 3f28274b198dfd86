"""The docs held to the code: every Terraform input, output, environment variable, `./run` command,
CLI subcommand and flag, table and view that README.md, docs/*.md and terraform/README.md name
exists under that name, the inputs they tell users to set can be set from examples/basic, and
their commands use the names Terraform creates. What exists is derived from the code (variables.tf,
outputs.tf, `run`, the argparse parsers, the schema files), never listed here, so a new variable,
command or view needs no change to this file: only a doc naming one that doesn't exist does."""

from __future__ import annotations

import functools
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dt_bigquery_ops import cli, options
from dt_bigquery_ops.errors import UsageError
from functions import catalogue
from tests.terraform.support import environment_variables_read

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "terraform"
EXAMPLE = ROOT / "examples" / "basic"
DOC_PATHS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), MODULE / "README.md"]
SHELL_BLOCKS = {"", "sh", "bash", "shell", "console", "cron"}
# Variables that other programs read, named in the docs: (name, who reads it).
EXTERNAL_VARIABLES = {
    "GOOGLE_APPLICATION_CREDENTIALS": "Google's auth libraries (Application Default Credentials)",
    "MAILTO": "cron",
    "HOME": "the shell",
    "PATH": "the shell",
}
# Names in capitals that Google's APIs define, which the docs quote (not environment variables).
EXTERNAL_VARIABLES |= dict.fromkeys(
    ["PERMISSION_DENIED", "NOT_FOUND", "SCHEMA_MISMATCH", "IN_TRANSIT_LOCATION_RESTRICTION"],
    "Pub/Sub: the states of a BigQuery subscription (bigqueryConfig.state)",
)


# --- The docs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Doc:
    path: Path
    text: str

    @property
    def name(self) -> str:
        return str(self.path.relative_to(ROOT))

    @functools.cached_property
    def blocks(self) -> list[tuple[str, str]]:
        """(language, text) of every fenced code block."""
        return re.findall(r"^[ \t]*```(\w*)\n(.*?)^[ \t]*```", self.text, re.M | re.S)

    @functools.cached_property
    def prose(self) -> str:
        return re.sub(r"^[ \t]*```.*?^[ \t]*```", "", self.text, flags=re.M | re.S)

    @functools.cached_property
    def spans(self) -> list[str]:
        """Inline code spans of the prose (tables included)."""
        return re.findall(r"`([^`\n]+)`", self.prose)

    def block_lines(self, languages: set[str] = SHELL_BLOCKS) -> list[str]:
        """Lines of the code blocks in `languages`, continuation lines (`\\`) joined."""
        lines = []
        for language, text in self.blocks:
            if language in languages:
                lines += re.sub(r"\\\n\s*", " ", text).splitlines()
        return lines

    def commands(self) -> list[str]:
        """Shell commands: the lines of the shell blocks and the inline spans."""
        return self.block_lines() + self.spans


def read_docs(paths: list[Path] = DOC_PATHS) -> list[Doc]:
    return [Doc(path, path.read_text()) for path in paths]


DOCS = read_docs()


def problems_in(check, docs: list[Doc]) -> list[str]:
    return [f"{doc.name}: {problem}" for doc in docs for problem in check(doc)]


# --- What exists, derived from the code -------------------------------------------------------------


def declared(kind: str, folder: Path) -> set[str]:
    return {
        name
        for path in sorted(folder.glob("*.tf"))
        for name in re.findall(rf'^{kind} "(\w+)"', path.read_text(), re.M)
    }


@functools.cache
def module_inputs() -> frozenset[str]:
    return frozenset(declared("variable", MODULE))


@functools.cache
def example_inputs() -> frozenset[str]:
    return frozenset(declared("variable", EXAMPLE))


@functools.cache
def example_outputs() -> frozenset[str]:
    return frozenset(declared("output", EXAMPLE))


def default(variable: str) -> str:
    body = re.search(
        rf'^variable "{variable}" \{{(.*?)^\}}', (MODULE / "variables.tf").read_text(), re.M | re.S
    )
    assert body, variable
    return re.search(r'^\s+default\s+=\s+"([^"]*)"', body.group(1), re.M).group(1)


@functools.cache
def created_names() -> frozenset[str]:
    """Names the module gives with the default name_prefix: "<prefix>-<suffix>"."""
    prefix = default("name_prefix")
    text = "\n".join(path.read_text() for path in MODULE.glob("*.tf"))
    return frozenset(
        f"{prefix}-{suffix}" for suffix in re.findall(r"\$\{var\.name_prefix\}-([a-z0-9-]+)", text)
    )


@functools.cache
def run_commands() -> dict[str, str]:
    """`./run` command => what it runs (the branches of run's `case`)."""
    text = (ROOT / "run").read_text()
    body = text[text.index('case "$cmd" in') :]
    return {
        name: action
        for names, action in re.findall(r"^  ([a-z|-]+)\)(.*?)(?=^  [a-z|*-]+\)|^esac)", body, re.M | re.S)
        for name in names.split("|")
    }


def flags_of(parser) -> set[str]:
    return {flag for action in parser._actions for flag in action.option_strings}


@functools.cache
def ops_commands() -> dict[str, frozenset[str]]:
    """Subcommand of `dt-bigquery-ops` => its flags, from the parser itself."""
    parser = cli.build_parser()
    [subparsers] = [action for action in parser._actions if action.choices and action.dest == "command"]
    return {name: frozenset(flags_of(sub)) for name, sub in subparsers.choices.items()}


@functools.cache
def run_command_flags(command: str) -> frozenset[str] | None:
    """Flags of a `./run` command served by a Python module (its `--help`); None when not derivable."""
    match = re.search(r"python -m ([\w.]+)(?: (\w+))? \"\$@\"", run_commands().get(command, ""))
    if not match:
        return None
    arguments = [sys.executable, "-m", match.group(1), *filter(None, [match.group(2)]), "--help"]
    result = subprocess.run(arguments, cwd=ROOT, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:  # no argparse --help (bench takes a word only)
        return None
    return frozenset(re.findall(r"(?<![\w-])(--?[a-z][a-z0-9-]*)", result.stdout))


def code_files() -> list[Path]:
    folders = ["functions", "dt_bigquery_ops", "local", "bench", "scripts"]
    return [ROOT / "main.py", *(path for folder in folders for path in sorted((ROOT / folder).rglob("*.py")))]


@functools.cache
def variables_read() -> frozenset[str]:
    """Environment variables the code, `run` and Terraform's function settings read or set."""
    run = (ROOT / "run").read_text()
    terraform = (MODULE / "functions.tf").read_text()
    return frozenset(
        environment_variables_read(code_files())
        | set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", run))
        | set(re.findall(r"^\s+([A-Z][A-Z0-9_]+)\s+=", terraform, re.M))
        | set(EXTERNAL_VARIABLES)
    )


@functools.cache
def string_literals() -> frozenset[str]:
    """Every quoted string and constant name of the code, Terraform and DT's example bodies: what a
    doc may spell in capitals (HTTP_PUSH, SYSTEM_DISABLED, ASGI_TARGETS, ...)."""
    found: set[str] = set()
    data = [*(ROOT / "functions" / "schemas").rglob("*"), *(ROOT / "tests" / "data").rglob("*.json")]
    for path in [*code_files(), *MODULE.glob("*.tf"), *data]:
        if path.is_file():
            text = path.read_text()
            found.update(re.findall(r"[\"']([^\"'\s]{2,80})[\"']", text))
            if path.suffix == ".py":
                found.update(re.findall(r"^([A-Z][A-Z0-9_]+)\b(?:: [^=]+)? =", text, re.M))
    return frozenset(found)


@functools.cache
def bigquery_names() -> frozenset[str]:
    """Tables and views Terraform creates (main.tf/bigquery.tf derive them from these same files)."""
    tables = [table.name for table in catalogue.all_tables()]  # each a view of the landing table
    views = [
        path.stem
        for path in (ROOT / "functions" / "schemas" / "views").glob("*.sql")
        if path.stem != "typed"  # the template of the per-table views
    ]
    return frozenset([*tables, catalogue.LANDING_TABLE, "dead_letters", *views])


# --- Checks: each returns the problems of one doc ------------------------------------------------------


def module_inputs_named(doc: Doc) -> Iterator[str]:
    """A module input the docs name must be settable from examples/basic."""
    for span in doc.spans:
        name = span.split("=")[0].strip()
        if name in module_inputs() and name not in example_inputs():
            yield f"`{span}` names a module input that examples/basic does not declare"


def hcl_assignments(doc: Doc) -> Iterator[str]:
    """In HCL blocks: top-level `x = ...` (terraform.tfvars) are example inputs; inside `module {}`, module inputs."""
    for language, text in doc.blocks:
        if language != "hcl":
            continue
        stack: list[str] = []
        for line in text.splitlines():
            code = line.split("#")[0]
            assignment = re.match(r"^\s*([a-z_][a-z0-9_]*)\s*=", code)
            if assignment:
                name = assignment.group(1)
                if not stack and name not in example_inputs():
                    yield f"`{name} = ...` for terraform.tfvars, but examples/basic has no such variable"
                elif stack == ["module"] and name not in module_inputs() | {"source", "version", "providers"}:
                    yield f"`{name}` in a module block is not an input of terraform/"
            opened = re.match(r"^\s*(\w+)\b[^=]*\{\s*$", code)
            if opened:
                stack.append(opened.group(1))
            elif re.match(r"^\s*\}\s*$", code) and stack:
                stack.pop()
    for command in doc.commands():
        for name in re.findall(r"-var[= ]([a-z_][a-z0-9_]*)=", command):
            if name not in example_inputs():
                yield f"-var {name}=...: examples/basic has no such variable"


def terraform_outputs(doc: Doc) -> Iterator[str]:
    for command in doc.commands():
        for name in re.findall(r"terraform (?:-chdir=\S+ )?output (?:-raw |-json )?([a-z_]+)", command):
            if name not in example_outputs():
                yield f"`terraform output {name}`: examples/basic has no such output"
    listed = re.search(r"[Ii]t prints\s+the outputs:(.*?)\.\n", doc.prose, re.S)
    if listed:
        missing = example_outputs() - set(re.findall(r"`(\w+)`", listed.group(1)))
        if missing:
            yield f"the list of printed outputs leaves out {sorted(missing)}"


def environment_variables(doc: Doc) -> Iterator[str]:
    shell_locals = set()
    for line in doc.block_lines():
        shell_locals.update(re.findall(r"(?:^\s*|[;&(]\s*|\bfor )([A-Z][A-Z0-9_]*)(?:=| in )", line))
    named = set()
    for line in doc.block_lines():
        named.update(re.findall(r"\bexport ([A-Z][A-Z0-9_]*)=", line))
        prefix = re.match(r"^([A-Z][A-Z0-9_]*)=\S+\s+([^#\s]\S*)", line)  # NAME=value command
        if prefix:
            named.add(prefix.group(1))
        named.update(set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", line)) - shell_locals)
    for span in doc.spans:
        named.update(re.findall(r"^\$?([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)(?:=|$)", span))
    for name in sorted(named):
        if name not in variables_read() and name not in string_literals() and name not in shell_locals:
            yield f"`{name}`: no code reads this environment variable"


def function_variables_table(doc: Doc) -> Iterator[str]:
    """The README's table of the functions' variables, and docs/contracts.md: complete and real."""
    settings = environment_variables_read([ROOT / "functions" / "config.py"])  # the typed settings
    read = environment_variables_read([ROOT / "main.py", *sorted((ROOT / "functions").rglob("*.py"))])
    configured = set(re.findall(r"^\s+([A-Z][A-Z0-9_]+)\s+=", (MODULE / "functions.tf").read_text(), re.M))
    if doc.path.name == "contracts.md" or "| variable | function |" in doc.text:
        section = (
            doc.text if doc.path.name == "contracts.md" else doc.text.split("| variable | function |")[1]
        )
        section = section.split("\n\n")[0] if doc.path.name != "contracts.md" else section
        documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", section))
        for name in sorted(settings - documented):
            yield f"`{name}` is read by the functions but not documented here"
        if doc.path.name != "contracts.md":
            for name in sorted(documented - read - configured):
                yield f"`{name}` is documented as a function variable, but no function reads it"


def run_commands_named(doc: Doc) -> Iterator[str]:
    for command in doc.commands():
        for name, rest in re.findall(r"\./run ([a-z][a-z-]*)((?: [^|;&>`]*)?)", command):
            if name not in run_commands():
                yield f"`./run {name}` is not a command of run"
                continue
            flags = run_command_flags(name)
            if flags is not None:
                for flag in re.findall(r"(?<!\S)(--[a-z][a-z0-9-]*)", rest):
                    if flag not in flags:
                        yield f"`./run {name}` has no option {flag}"


def ops_invocations(doc: Doc) -> Iterator[str]:
    commands = ops_commands()
    for command in doc.commands():
        for found in re.finditer(r"(?:dt-bigquery-ops|\./run ops|\./run (?=report))\s*(.*)", command):
            words = re.split(r"\s+", found.group(1).strip())
            if len(words) > 2 and words[1] == "|":  # a list of the subcommands
                listed = set(found.group(1).split(" | ")) - {"…"}
                if listed != set(commands):
                    yield f"`{command}` lists {sorted(listed)}, the subcommands are {sorted(commands)}"
                continue
            name = next((word for word in words if word and not word.startswith("-")), None)
            if name is None or not re.fullmatch(r"[a-z][a-z-]*", name):
                continue  # the bare program name, or `…`
            if name not in commands:
                yield f"`dt-bigquery-ops {name}` is not a subcommand"
                continue
            for word in words[words.index(name) + 1 :]:
                if re.match(r"^(\||\|\||&&|;|>|2>|\))", word) or word.endswith(")"):
                    break
                flag = word.split("=")[0]
                if flag.startswith("--") and flag not in commands[name]:
                    yield f"`dt-bigquery-ops {name}` has no option {flag}"


def connector_names(doc: Doc) -> Iterator[str]:
    """A connector name as the docs show it (DT's, Terraform's) is one `--connector` takes."""
    for name in sorted(
        set(re.findall(r"projects/(?:<[^>]+>|[^/\s`\"]+)/data[Cc]onnectors/[^\s`\")]+", doc.text))
    ):
        sample = re.sub(r"<[^>]+>|\$\{?\w+\}?", "c0md3mm0c7pet3c1vddg", name)
        try:
            options.dt_connector(sample, sample.split("/")[1])
        except UsageError:
            yield f"`{name}` (as the docs show a connector's name) is refused by --connector"


def cron_environment(doc: Doc) -> Iterator[str]:
    """A crontab line has none of the shell's variables: it sets or sources what the tool needs."""
    for language, text in doc.blocks:
        if language != "cron":
            continue
        for line in text.splitlines():
            if "dt-bigquery-ops" not in line:
                continue
            settings = text
            for path in re.findall(r"(?:^|\s)(?:\.|source) \"?([^\s\"]+)", line.split(None, 5)[-1]):
                settings += "".join(
                    block for _, block in doc.blocks if path.replace("$HOME/", "~/") in block.split("\n")[0]
                )
            needed = {"DT_API_KEY_ID", "DT_API_KEY_SECRET", "DT_OIDC_EMAIL"}
            if "--max-age" in line and "--dataset" not in line:
                needed.add("BIGQUERY_DATASET")
            missing = sorted(name for name in needed if not re.search(rf"\b{name}=", settings))
            if missing:
                yield f"the crontab line `{line[:60]}...` runs without {missing}"


def from_a_checkout(doc: Doc) -> Iterator[str]:
    for sentence in re.split(r"(?<=[.!?])\s+", doc.prose):
        if "from a checkout" not in sentence:
            continue
        if "./run" not in sentence:
            yield f"'{sentence.strip()[:80]}': from a checkout the command is `./run ...`"


def tables_and_views(doc: Doc) -> Iterator[str]:
    sql = [text for language, text in doc.blocks if language == "sql" or "FROM" in text] + [
        span for span in doc.spans if "FROM" in span
    ]
    named = set()
    for text in sql:
        for reference in re.findall(r"(?:FROM|JOIN)\s+`?([\w.${}<>-]+)`?", text):
            named.add(reference.rsplit(".", 1)[-1])
    named.update(re.findall(r"\bviews? `([a-z_]+)`", doc.prose))
    named.update(re.findall(r"`([a-z_]+)` views?\b", doc.prose))
    for name in sorted(named):
        if re.fullmatch(r"[a-z_]+", name) and name not in bigquery_names():
            yield f"`{name}`: Terraform creates no such table or view"


def resource_names(doc: Doc) -> Iterator[str]:
    prefix, region = default("name_prefix"), default("region")
    for name in sorted(set(re.findall(rf"(?<![\w-]){re.escape(prefix)}-[a-z0-9-]*[a-z0-9]", doc.text))):
        if name not in created_names():
            yield f"`{name}`: the module creates no resource of that name"
    for line in doc.block_lines():
        if re.match(r"^\s*(gcloud|bq)\s", line) and (f"{prefix}-" in line or f"--region {region}" in line):
            yield f"`{line.strip()[:90]}` hard-codes the default name_prefix or region; take them from terraform output"


def gcloud_project_set(doc: Doc) -> Iterator[str]:
    """gcloud and bq commands run in the configured project: the doc sets it first."""
    seen_config = False
    for line in doc.block_lines():
        if "gcloud config set project" in line:
            seen_config = True
        elif (
            re.match(r"^\s*(bq|gcloud (?!auth|config|components|iam workload))\S*\s", line)
            and not seen_config
            and "--project" not in line
        ):
            yield f"`{line.strip()[:80]}` runs before `gcloud config set project` (in this doc)"
            return


def machine_paths(doc: Doc) -> Iterator[str]:
    for path in re.findall(
        r"(?:(?<![\w.~$])/(?:work|home/[a-z]\w*|Users|root)/\S*|…/shared\S*|\.\./shared\S*)", doc.text
    ):
        yield f"{path}: a path of a developer's machine or outside the repository"


def placeholder_urls(doc: Doc) -> Iterator[str]:
    for placeholder in sorted(set(re.findall(r"(?:github\.com/|git clone )(<[^>]+>)", doc.text))):
        explained = re.search(rf"`{re.escape(placeholder)}[^`]*`\s*(?:is|:|means|stands for)\b", doc.prose)
        if not explained:
            yield f"{placeholder} in a URL, with no word on what to put there"


def links(doc: Doc) -> Iterator[str]:
    for target in re.findall(r"\]\((?!https?:|#|mailto:)([^)#\s]+)", doc.text):
        if not (doc.path.parent / target).exists():
            yield f"the link {target} leads nowhere"


def module_files(doc: Doc) -> Iterator[str]:
    """terraform/README.md's file table names every file of the module and its tests."""
    if doc.path == MODULE / "README.md":
        for path in [*MODULE.glob("*.tf"), *(MODULE / "tests").glob("*.tftest.hcl")]:
            if path.name not in doc.text:
                yield f"{path.relative_to(ROOT)} is missing from the file table"


def run_prerequisites(doc: Doc) -> Iterator[str]:
    """Each tool `run` stops without is named where the README says what must be there."""
    if doc.path.name == "README.md" and doc.path.parent == ROOT:
        [paragraph] = [part for part in doc.prose.split("\n\n") if "must be there" in part]
        for tool in re.findall(r'die "(\w+)[^"]*is required', (ROOT / "run").read_text()):
            if tool.lower().rstrip("0123456789") not in paragraph.lower():
                yield f"run stops without {tool}, which the prerequisites don't name"


CHECKS = [
    module_inputs_named,
    hcl_assignments,
    terraform_outputs,
    environment_variables,
    function_variables_table,
    run_commands_named,
    ops_invocations,
    connector_names,
    cron_environment,
    from_a_checkout,
    tables_and_views,
    resource_names,
    gcloud_project_set,
    machine_paths,
    placeholder_urls,
    links,
    module_files,
    run_prerequisites,
]


@pytest.mark.parametrize("check", CHECKS, ids=[check.__name__ for check in CHECKS])
def test_the_docs_name_only_what_exists(check):
    assert problems_in(check, DOCS) == []


def test_run_help_names_every_ops_subcommand():
    help_lines = [
        line for line in (ROOT / "run").read_text().splitlines() if line.startswith("#   ./run ops")
    ]
    assert help_lines and all(name in help_lines[0] for name in ops_commands())


def test_the_repository_has_a_license_and_a_changelog_the_readme_links():
    readme = (ROOT / "README.md").read_text()
    for name in ("LICENSE", "CHANGELOG.md"):
        assert (ROOT / name).is_file() and f"]({name})" in readme


# --- The checks catch what they are for ------------------------------------------------------------------


def doc(text: str, name: str = "docs/example.md") -> Doc:
    return Doc(ROOT / name, text)


@pytest.mark.parametrize(
    ("check", "text"),
    [
        (hcl_assignments, "```hcl\nsignature_secret_generations = 2\n```\n"),
        (hcl_assignments, '```hcl\nmodule "m" {\n  sourc = "x"\n}\n```\n'),
        (terraform_outputs, "`terraform output -raw datasets`"),
        (environment_variables, "`DT_SIGNATURE_SECRETS`"),
        (run_commands_named, "`./run deploy`"),
        (run_commands_named, "`./run demo --fleet-size 3`"),
        (ops_invocations, "```sh\ndt-bigquery-ops health --project p --max-ages 2h\n```\n"),
        (ops_invocations, "`dt-bigquery-ops health | backfill`"),
        (tables_and_views, "```sql\nSELECT * FROM dt.temperatures\n```\n"),
        (resource_names, "```sh\ngcloud functions logs read dt-bq-ingest --limit 5\n```\n"),
        (resource_names, "`dt-bq-router`"),
        (gcloud_project_set, "```sh\nbq query 'SELECT 1'\n```\n"),
        (machine_paths, "see /work/shared/dt/real-bodies/"),
        (placeholder_urls, "`git clone <this repository>`"),
        (links, "[x](no-such-file.md)"),
        (from_a_checkout, "or, from a checkout, `dt-bigquery-ops …`."),
        (connector_names, "`projects/<DT project>/dataConnectors/<id>/status`"),
        (cron_environment, "```cron\n*/15 * * * * dt-bigquery-ops health --project p --max-age 2h\n```\n"),
    ],
)
def test_each_check_reports_a_stale_claim(check, text):
    assert list(check(doc(text))) != []
