"""Importing this module registers every task on the job app."""

import ragaas.ingestion.tasks  # noqa: F401
