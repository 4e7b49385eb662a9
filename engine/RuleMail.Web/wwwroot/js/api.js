// The one way the pages talk to RuleMail: /api/v1 with the session cookie, the antiforgery token on every request
// that changes something, and problem+json answers turned into errors that carry the server's one-line detail.

let csrf = null;

/** Remembers the session's antiforgery token (from /ui/session). */
export function useCsrf(token) {
  csrf = token;
}

/** An answer that was not 2xx: status and the problem's detail. */
export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

/**
 * Calls the API. `json` is sent as JSON; `body` as is (FormData, Blob, text with `type`). Answers JSON as an object,
 * other content as a Response (for messages and downloads). Throws ApiError with the problem's detail.
 */
export async function api(path, { method = 'GET', json, body, type, accept, signal } = {}) {
  const headers = {};
  if (json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(json);
  } else if (type) {
    headers['Content-Type'] = type;
  }
  if (accept) headers.Accept = accept;
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  const response = await fetch(path, { method, headers, body, signal, credentials: 'same-origin' });
  if (!response.ok) {
    let detail = `${response.status} ${response.statusText}`;
    try {
      const problem = await response.json();
      if (problem && problem.detail) detail = problem.detail;
    } catch {
      // not problem JSON: the status line says it
    }
    if (response.status === 401 && !path.startsWith('/ui/')) {
      window.dispatchEvent(new CustomEvent('rulemail:signed-out'));
    }
    throw new ApiError(response.status, detail);
  }
  const contentType = response.headers.get('Content-Type') ?? '';
  if (response.status === 204) return null;
  return contentType.includes('json') ? response.json() : response;
}

/** Saves a Response (or Blob) as a file the browser downloads. */
export async function download(responseOrBlob, name) {
  const blob = responseOrBlob instanceof Blob ? responseOrBlob : await responseOrBlob.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
