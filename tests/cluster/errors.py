"""API errors rendered as the Status bodies a real API server sends."""

from __future__ import annotations


class ApiError(Exception):
    """An error answer: HTTP code, StatusReason, message and details."""

    def __init__(self, code: int, reason: str, message: str, details: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = dict(headers or {})
        retry = (details or {}).get("retryAfterSeconds")
        if retry and "Retry-After" not in self.headers:
            self.headers["Retry-After"] = str(retry)

    def status(self) -> dict:
        body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure"}
        if self.message:
            body["message"] = self.message
        if self.reason:
            body["reason"] = self.reason
        if self.details:
            body["details"] = self.details
        body["code"] = self.code or 500
        return body


def qualified(resource: str, group: str) -> str:
    """GroupResource.String(): ``plural`` or ``plural.group``."""
    return f"{resource}.{group}" if group else resource


def _details(resource: str, group: str, name: str) -> dict:
    details = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    details["kind"] = resource
    return details


def not_found(resource: str, group: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified(resource, group)} "{name}" not found',
                    _details(resource, group, name))


def already_exists(resource: str, group: str, name: str, *, deleting: bool = False) -> ApiError:
    msg = f'{qualified(resource, group)} "{name}" already exists'
    if deleting:
        msg = "object is being deleted: " + msg
    return ApiError(409, "AlreadyExists", msg, _details(resource, group, name))


def conflict(resource: str, group: str, name: str, reason: str | None = None) -> ApiError:
    why = reason or ("the object has been modified; please apply your changes to the latest "
                     "version and try again")
    return ApiError(409, "Conflict",
                    f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
                    _details(resource, group, name))


def invalid(kind: str, group: str, name: str, causes: list[dict]) -> ApiError:
    """422 Invalid; each cause {reason, message, field}, message = full cause text."""
    texts = [c.get("message", "") for c in causes]
    if len(texts) == 1:
        agg = texts[0]
    else:
        agg = "[" + ", ".join(texts) + "]"
    details_causes = []
    for c in causes:
        field = c.get("field", "")
        text = c.get("message", "")
        body = text[len(field) + 2:] if field and text.startswith(field + ": ") else text
        details_causes.append({"reason": c.get("reason", "FieldValueInvalid"), "message": body,
                               "field": field})
    details = {}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    if kind:
        details["kind"] = kind
    details["causes"] = details_causes
    return ApiError(422, "Invalid", f'{qualified(kind, group)} "{name}" is invalid: {agg}', details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(resource: str, group: str, name: str, why: str, causes: list[dict] | None = None) -> ApiError:
    subject = f'{qualified(resource, group)} "{name}"' if name else qualified(resource, group)
    details = _details(resource, group, name)
    if causes:
        details["causes"] = causes
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", details)


def forbidden_user(user: str, verb: str, resource: str, group: str, name: str,
                   namespace: str | None, subresource: str = "") -> ApiError:
    res = f"{resource}/{subresource}" if subresource else resource
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    why = f'User "{user}" cannot {verb} resource "{res}" in API group "{group}" {scope}'
    return forbidden(resource, group, name, why)


def method_not_allowed(verb: str = "", resource: str = "", group: str = "") -> ApiError:
    if verb:
        msg = f'{verb} is not supported on resources of kind "{qualified(resource, group)}"'
        return ApiError(405, "MethodNotAllowed", msg, _details(resource, group, ""))
    return ApiError(405, "MethodNotAllowed",
                    "the server does not allow this method on the requested resource")


def unsupported_media_type(accepted) -> ApiError:
    return ApiError(415, "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    + ", ".join(accepted))


def internal_error(message: str) -> ApiError:
    return ApiError(500, "InternalError", f"Internal error occurred: {message}",
                    {"causes": [{"message": message}]})


def too_many_requests(retry_after: int = 1) -> ApiError:
    return ApiError(429, "TooManyRequests", "The server has received too many requests and has "
                    "asked us to try again later", {"retryAfterSeconds": retry_after})


def service_unavailable(message: str = "the server is currently unable to handle the request",
                        retry_after: int = 1) -> ApiError:
    return ApiError(503, "ServiceUnavailable", message, {"retryAfterSeconds": retry_after})


def expired(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


class TryGet:
    """``try_get`` for a store with ``get``: the object, or None when the server answers 404."""

    def try_get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> dict | None:
        try:
            return self.get(api_version, kind, name, namespace)
        except ApiError as exc:
            if exc.code == 404:
                return None
            raise
