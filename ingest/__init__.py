"""Source file -> column mapping -> validation -> store. Used by the CLI and the upload page."""

from ingest.pipeline import IngestError, IngestResult, PreparedFile, ingest_file, prepare_file

__all__ = ["IngestError", "IngestResult", "PreparedFile", "ingest_file", "prepare_file"]
