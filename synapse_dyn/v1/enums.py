"""The v1 enums scripts import by name; their values are the schema's (a test holds them equal)."""

from __future__ import annotations

from enum import StrEnum


class StorageCategory(StrEnum):
    """Whether a storage is run by the platform or by the customer."""

    INTERNAL = "internal"
    EXTERNAL = "external"


class StorageProvider(StrEnum):
    """The storage technology behind a storage."""

    AMAZON_S3 = "amazon_s3"
    AZURE = "azure"
    DIGITAL_OCEAN = "digital_ocean"
    FILE_SYSTEM = "file_system"
    FTP = "ftp"
    SFTP = "sftp"
    MINIO = "minio"
    GCP = "gcp"


class JobStatus(StrEnum):
    """Lifecycle state of a job."""

    PENDING = "pending"
    RUNNING = "running"
    STOPPED = "stopped"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
