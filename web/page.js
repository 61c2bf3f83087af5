// What the demo pages share on screen: element lookup, traffic counters, the connection indicator.
export const $ = (id) => document.getElementById(id);

// Counters on <body> let people and tests see traffic without reading the console.
export const count = (name) => {
  document.body.dataset[name] = String(Number(document.body.dataset[name] ?? 0) + 1);
};

export const state = (text, kind = text) => {
  $('connection').textContent = text;
  $('connection').className = `state ${kind}`;
};
