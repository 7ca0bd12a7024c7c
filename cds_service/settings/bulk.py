"""The ``bulk`` block: fetching a Bulk Data export for the population worklist (``cds-service cohort --from-fhir``).

Read by ``commands.bulk_fetch``. The allowlist, plain http, the timeouts and the largest JSON answer are the ``ehr``
block's (the hook's FHIR client); these add the SMART Backend Services client (off until ``CDS_BULK_CLIENT_ID`` is
set: no token is sent, for open test servers), the bound on the whole wait and the byte caps of the files.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from cds_service.ehr.bulk.config import RULE_TYPES, BulkClientSettings, GiB
from cds_service.settings.values import BaseUrls, File, Flag, Kind, PositiveNumber, PositiveWhole, named, refuse

DEFAULT_SCOPES = " ".join(f"system/{kind}.rs" for kind in RULE_TYPES)
"""SMART v2 system scopes to read and search each type the rules read."""
_TEXT = re.compile(r"^[\x21-\x7e]{1,200}$")
_SCOPE = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]{1,200}$")  # RFC 6749 3.3 scope-token
TEXT = "printable ASCII without spaces, at most 200 characters"
SCOPES = "OAuth2 scopes separated by spaces, e.g. system/Patient.rs system/Observation.rs"


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()  # Flask reads an all-digit id as a number
    if not _TEXT.match(text):
        raise refuse(TEXT, value)
    return text


def _scopes(value: Any) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_SCOPES
    found = str(value).replace(",", " ").split()
    if not all(_SCOPE.match(scope) for scope in found):
        raise refuse(SCOPES, value)
    return " ".join(dict.fromkeys(found))


Text = Annotated[str | None, BeforeValidator(_text), Kind(TEXT)]
Scopes = Annotated[str, BeforeValidator(_scopes), Kind(SCOPES)]


class BulkSettings(BaseModel):
    """Bulk Data export.

    Read by `commands.bulk_fetch` for `cds-service cohort --from-fhir BASE`: the SMART Backend Services client, how
    long an export may take, and how much it may download. The FHIR server allowlist, plain http, the timeouts and the
    largest JSON answer are the `ehr` block's. See [cohort.md](cohort.md), "Fetching the export".
    """

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    client_id: Text = Field(
        None,
        validation_alias="CDS_BULK_CLIENT_ID",
        description="the client id registered at the EHR for SMART Backend Services; unset: no token is sent "
        "(open test servers only; the command says so)",
    )
    private_key_file: File = Field(
        None,
        validation_alias="CDS_BULK_PRIVATE_KEY_FILE",
        description="the client's private key, unencrypted PEM: RSA of at least 2048 bits (signs RS384) or EC P-384 "
        "(ES384); read when a token is needed, never logged",
    )
    key_id: Text = Field(
        None,
        validation_alias="CDS_BULK_KEY_ID",
        description="the `kid` of that key in the JWK Set registered with the EHR",
    )
    scopes: Scopes = Field(
        DEFAULT_SCOPES,
        validation_alias="CDS_BULK_SCOPES",
        description="the scopes asked for (SMART v2; a v1 server wants e.g. `system/*.read`)",
        json_schema_extra={"shown": "`system/<Type>.rs` for each type the rules read"},
    )
    max_wait_seconds: PositiveNumber = Field(
        21600.0,
        validation_alias="CDS_BULK_MAX_WAIT_SECONDS",
        description="the longest an export may take from kick-off to manifest, seconds (6 h); past it the export is "
        "cancelled on the server (DELETE) and the command fails",
    )
    max_file_bytes: PositiveWhole = Field(
        16 * GiB,
        validation_alias="CDS_BULK_MAX_FILE_BYTES",
        description="the largest file downloaded, bytes as written (decompressed)",
    )
    max_total_bytes: PositiveWhole = Field(
        128 * GiB,
        validation_alias="CDS_BULK_MAX_TOTAL_BYTES",
        description="all files of one export together, bytes as written (decompressed)",
    )
    downloads: PositiveWhole = Field(4, validation_alias="CDS_BULK_DOWNLOADS", description="files downloaded at once")
    file_servers: BaseUrls = Field(
        (),
        validation_alias="CDS_BULK_FILE_SERVERS",
        description="base URLs other than the export server's origin that output files may be downloaded from (an "
        "object store); a manifest naming any other host is refused. The token goes there only when the manifest "
        "says `requiresAccessToken`",
        json_schema_extra={"shown": "none (the export server's origin only)"},
    )
    type_filter: Flag = Field(
        True,
        validation_alias="CDS_BULK_TYPE_FILTER",
        description="ask for only the Observations the rules read (`_typeFilter=Observation?code=...`); a server "
        "that refuses it is asked again without",
    )

    @model_validator(mode="after")
    def _client_complete(self) -> BulkSettings:
        given = {
            "CDS_BULK_CLIENT_ID": self.client_id,
            "CDS_BULK_PRIVATE_KEY_FILE": self.private_key_file,
            "CDS_BULK_KEY_ID": self.key_id,
        }
        missing = [name for name, value in given.items() if value is None]
        if missing and len(missing) < len(given):
            raise named([f"{', '.join(missing)}: needed with the other CDS_BULK_CLIENT_ID settings (all or none)"])
        return self

    @property
    def authenticated(self) -> bool:
        """Whether a SMART Backend Services client is set (else no token is sent)."""
        return self.client_id is not None

    def client(self, ehr: Any) -> BulkClientSettings:
        """The Bulk Data client's limits: these, with the ``ehr`` block's allowlist, http rule, timeouts, answer cap."""
        return BulkClientSettings(
            allowlist=ehr.allowlist,
            file_servers=self.file_servers,
            allow_http=ehr.allow_http,
            connect_timeout=ehr.connect_timeout,
            read_timeout=ehr.read_timeout,
            max_answer_bytes=ehr.max_response_bytes,
            max_wait=self.max_wait_seconds,
            max_file_bytes=self.max_file_bytes,
            max_total_bytes=self.max_total_bytes,
            downloads=self.downloads,
            type_filter=self.type_filter,
        )
