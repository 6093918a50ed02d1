"""The admin guide: the configuration reference is the generator's output, and complete."""

from __future__ import annotations

from pathlib import Path

from jupyter_mlplat import docs_gen

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_committed_reference_matches_the_models() -> None:
    assert docs_gen.OUTPUT.read_text() == docs_gen.render(), (
        "docs/configuration.md is stale: run `python -m jupyter_mlplat.docs_gen`"
    )


def test_every_field_is_documented() -> None:
    text = docs_gen.render()
    missing = []
    for model in docs_gen.models():
        assert f"## {model.__name__}" in text
        assert model in docs_gen.EXAMPLES and model in docs_gen.INTROS, model.__name__
        for name, field in model.model_fields.items():
            key = f"{model.__name__}.{name}"
            if not (field.description or docs_gen.DESCRIPTIONS.get(key)):
                missing.append(key)
    assert not missing, "fields without a description (config.py or docs_gen.DESCRIPTIONS): " \
        + ", ".join(missing)


def test_guides_link_each_other() -> None:
    for name in ("configuration.md", "deployment.md", "security.md"):
        assert (DOCS / name).is_file(), name
    readme = (DOCS.parent / "README.md").read_text()
    for name in ("docs/configuration.md", "docs/deployment.md", "docs/security.md"):
        assert name in readme, f"README.md does not link {name}"
