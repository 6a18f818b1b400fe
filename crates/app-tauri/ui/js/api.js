// The Tauri commands, one function each. Errors arrive as {code, message, field}.
const core = window.__TAURI__.core;

function call(cmd, args) {
  return core.invoke(cmd, args).catch((error) => {
    throw typeof error === "object" && error !== null
      ? error
      : { code: "internal", message: String(error), field: null };
  });
}

export const listSessions = () => call("list_sessions", {});
export const getSession = (id) => call("get_session", { id });
export const getTranscript = (id, run, after, limit) =>
  call("get_transcript", { id, run, after, limit });
export const startSession = (input) => call("start_session", { input });
export const interruptSession = (id) => call("interrupt_session", { id });
export const resumeSession = (id, prompt) => call("resume_session", { id, prompt });
export const deleteSession = (id, force) => call("delete_session", { id, force });
export const answerApproval = (id, requestId, answer, message) =>
  call("answer_approval", { id, requestId, answer, message });
export const sendMessage = (id, text) => call("send_message", { id, text });
export const closeSession = (id) => call("close_session", { id });
export const stopAllSessions = () => call("stop_all_sessions", {});
export const getSettings = () => call("get_settings", {});
export const pickDirectory = () => call("pick_directory", {});

export function watchSessions(onMessage) {
  const channel = new core.Channel();
  channel.onmessage = onMessage;
  return call("watch_sessions", { channel });
}

export async function followSession(id, after, onMessage) {
  const channel = new core.Channel();
  channel.onmessage = onMessage;
  return call("follow_session", { id, after, channel });
}

export const unfollowSession = (stream) => call("unfollow_session", { stream });
