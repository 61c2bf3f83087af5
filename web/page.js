// What the demo pages share on screen: element lookup, traffic counters, the connection and model indicators.
export const $ = (id) => document.getElementById(id);

// Counters on <body> let people and tests see traffic without reading the console.
export const count = (name) => {
  document.body.dataset[name] = String(Number(document.body.dataset[name] ?? 0) + 1);
};

export const state = (text, kind = text) => {
  $('connection').textContent = text;
  $('connection').className = `state ${kind}`;
};

// What the server transcribes with (GET /readyz) in #model, and #model-notice shown for the synthetic stand-in, so
// its nonsense surprises no one.
export async function showModel() {
  try {
    const response = await fetch('/readyz', { cache: 'no-store' });
    if (response.status === 503) {
      $('model').textContent = 'loading';
      setTimeout(showModel, 1000);
      return;
    }
    if (!response.ok) throw new Error(`/readyz answered ${response.status}`);
    const { model } = await response.json();
    // null: finals go to another server (FORWARD_URL) and no model runs here.
    $('model').textContent = model
      ? `${model.file} (${model.synthetic ? 'synthetic' : 'real'})`
      : 'remote (forwarded finals)';
    $('model-notice').hidden = !model?.synthetic;
  } catch (error) {
    console.warn('cannot tell the model', error);
    $('model').textContent = 'unknown';
  }
}
