# Archivist: `make run` (demo archive, or the bot when DISCORD_TOKEN is set), `make test` and `make lint`.
# `make models` re-fits every shipped model from ../shared/datasets (or ARCHIVIST_DATASETS): hours on 2 cores.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_HOME ?= .archivist/demo
DEMO_QUESTION ?= What did we write about NATO's article 5?

.PHONY: install run test lint models clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# The CPU build of torch first, pinned: an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/archivist --home $(DEMO_HOME) ingest data/
	$(BIN)/archivist --home $(DEMO_HOME) index
	@if [ -n "$$DISCORD_TOKEN$$ARCHIVIST_DISCORD_TOKEN_FILE" ]; then \
		exec $(BIN)/archivist --home $(DEMO_HOME) run; \
	elif [ -t 0 ] && [ -t 1 ]; then \
		exec $(BIN)/archivist --home $(DEMO_HOME) chat; \
	else \
		exec $(BIN)/archivist --home $(DEMO_HOME) ask "$(DEMO_QUESTION)"; \
	fi

test: install
	$(BIN)/pytest -q

lint: install
	$(BIN)/ruff check index bot tests scripts

models: install
	$(BIN)/python scripts/make_models.py

clean:
	rm -rf $(VENV) .archivist
