// Sign in with a token from `conveyor token create`; it is kept in this
// browser tab's session storage only, and sent as `Authorization: Bearer`.

import { ApiError, get, setToken } from "./api.js";
import { esc } from "./util.js";

export async function render(main) {
  main.innerHTML = `<div class="card login">
    <h1>Sign in</h1>
    <p class="muted">This server asks for a token (<code>--auth-mode client</code>). Create one with
      <code>conveyor token create --namespace NS --role read|write|admin</code>.</p>
    <form data-login>
      <label>Token <input name="token" type="password" autocomplete="off" required placeholder="cvy_…" autofocus></label>
      <div class="message" data-message></div>
      <div><button class="primary" type="submit">Sign in</button></div>
    </form></div>`;
  const form = main.querySelector("form");
  form.onsubmit = async (event) => {
    event.preventDefault();
    const value = form.token.value.trim();
    setToken(value);
    try {
      await get("/api/v1/userinfo");
    } catch (err) {
      setToken("");
      form.querySelector("[data-message]").innerHTML = esc(err instanceof ApiError ? err.message : String(err));
      return;
    }
    location.hash = "#/workflows";
    location.reload();
  };
}
