// The Telegram Web App's first page: Telegram puts the signed initData in the URL's fragment
// (#tgWebAppData=...); it is posted to the server, which checks Telegram's signature and signs
// the linked user in. Telegram's own script is not loaded: the fragment is all that is needed.

/** The initData in a Telegram Web App URL's fragment, or "" outside Telegram. */
export function initDataOf(hash) {
  const params = new URLSearchParams(hash.startsWith("#") ? hash.slice(1) : hash);
  return params.get("tgWebAppData") || "";
}

const form = document.getElementById("telegram-login");
const state = document.getElementById("telegram-state");
const data = initDataOf(window.location.hash);
if (form && data) {
  document.getElementById("init-data").value = data;
  // The fragment is a credential until it expires: off the address bar and out of the history.
  window.history.replaceState(null, "", window.location.pathname);
  form.submit();
} else if (state) {
  state.textContent = "This page signs you in when opened from the bot's Dashboard button in Telegram.";
}
