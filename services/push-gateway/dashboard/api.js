// Requests to the read API through the gateway's /api. A gateway with auth on answers /api only
// to a valid token, as it does /ws, so the page sends the token it was opened with (?token=).

export function apiHeaders(search = globalThis.location?.search ?? "") {
  const token = new URLSearchParams(search).get("token");
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  return headers;
}
