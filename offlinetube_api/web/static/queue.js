// The live queue: follows /api/events (Server-Sent Events) and keeps each task's card in step.
// The browser's EventSource reconnects by itself and sends Last-Event-ID, so the stream
// resumes where it stopped; no polling. Text goes in with textContent, never as HTML.

const FINAL = new Set(["completed", "failed", "cancelled"]);
const RETRYABLE = new Set(["failed", "cancelled"]);
const UNITS = ["B", "KB", "MB", "GB", "TB"];

const list = document.getElementById("queue-list");
const template = document.getElementById("queue-card");
const live = document.getElementById("live");

// Sizes as templating.py's human_size writes them: powers of 1000, one decimal above bytes.
function humanSize(size) {
  let unit = 0;
  while (size >= 1000 && unit < UNITS.length - 1) {
    size /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(size)} B` : `${size.toFixed(1)} ${UNITS[unit]}`;
}

// Seconds as templating.py's clock writes them: m:ss or h:mm:ss.
function clock(seconds) {
  const total = Math.round(seconds);
  const [h, m, s] = [Math.floor(total / 3600), Math.floor(total / 60) % 60, total % 60];
  const pad = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
}

// Why a queued task is held back, as templating.py's `waiting` writes it.
const WAITING = {
  rate_limited: "Waiting: its site is cooling down after a rate limit",
  bot_check: "Waiting: its site is cooling down after a bot check",
  site_busy: "Waiting: its site runs as many downloads as OFFLINETUBE_MAX_PER_SITE allows",
};

function waiting(task) {
  if (!task.waiting_reason) {
    return "";
  }
  const until = task.waiting_until
    ? `, until ${new Date(task.waiting_until).toISOString().slice(11, 19)} UTC`
    : "";
  return (WAITING[task.waiting_reason] || "Waiting") + until;
}

function field(card, name) {
  return card.querySelector(`[data-field="${name}"]`);
}

function newCard(id) {
  const card = template.content.firstElementChild.cloneNode(true);
  for (const element of [card, ...card.querySelectorAll("*")]) {
    for (const attribute of element.attributes) {
      if (attribute.value.includes("__id__")) {
        attribute.value = attribute.value.replaceAll("__id__", id);
      }
    }
  }
  // Queued tasks run in order: a new one goes after the unfinished ones, before the ended.
  const firstEnded = list.querySelector('[data-status="failed"], [data-status="cancelled"]');
  list.insertBefore(card, firstEnded);
  window.htmx?.process(card);
  return card;
}

function fill(card, task) {
  card.dataset.status = task.status;
  field(card, "title").textContent = task.title || task.url;
  field(card, "status").textContent = task.status;
  field(card, "percent").textContent = `${Math.floor(task.progress)}%`;
  field(card, "speed").textContent = task.speed ? `${humanSize(task.speed)}/s` : "";
  field(card, "eta").textContent = task.eta != null ? `${clock(task.eta)} left` : "";
  field(card, "waiting").textContent = waiting(task);
  field(card, "error").textContent = task.error || "";
  card.querySelector("progress").value = task.progress;
  const thumbnail = field(card, "thumbnail");
  if (task.thumbnail && thumbnail.getAttribute("src") !== task.thumbnail) {
    thumbnail.src = task.thumbnail;
  }
  thumbnail.hidden = !task.thumbnail;
  card.querySelector('[data-action="cancel"]').hidden = FINAL.has(task.status);
  card.querySelector('[data-action="retry"]').hidden = !RETRYABLE.has(task.status);
  card.querySelector('[data-action="play"]').hidden = task.status !== "completed";
}

function cardOf(id) {
  return list.querySelector(`[data-task-id="${CSS.escape(id)}"]`);
}

// When the server refuses the stream (EventSource gives up: a signed link that expired, too
// many streams open), ask the page's server for a fresh link after a pause and resume from the
// last event seen, which a new EventSource cannot send as Last-Event-ID by itself.
const RELINK_AFTER_MS = 5000;
let lastEventId = "";

async function relink() {
  let answer;
  try {
    answer = await fetch(list.dataset.eventsLink, { headers: { Accept: "application/json" } });
  } catch {
    setTimeout(relink, RELINK_AFTER_MS); // the server is unreachable: try again later
    return;
  }
  if (!answer.ok || !answer.headers.get("content-type")?.startsWith("application/json")) {
    live.textContent = "Live updates stopped: reload the page."; // signed out, say
    return;
  }
  const { url } = await answer.json();
  const resume = lastEventId ? `${url.includes("?") ? "&" : "?"}last_event_id=${lastEventId}` : "";
  follow(url + resume);
}

function follow(url) {
  const events = new EventSource(url);
  const seen = (message) => {
    lastEventId = message.lastEventId || lastEventId;
  };
  events.addEventListener("task", (message) => {
    seen(message);
    const task = JSON.parse(message.data);
    const card = cardOf(task.id) || newCard(task.id);
    fill(card, task);
  });
  events.addEventListener("removed", (message) => {
    seen(message);
    cardOf(JSON.parse(message.data).id)?.remove();
  });
  events.addEventListener("open", () => {
    live.hidden = true;
  });
  events.addEventListener("error", () => {
    live.hidden = false;
    live.textContent = "Reconnecting to live updates…";
    if (events.readyState === EventSource.CLOSED) {
      setTimeout(relink, RELINK_AFTER_MS);
    }
  });
}

follow(list.dataset.eventsUrl);
