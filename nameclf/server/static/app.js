// nameclf's page: reads the served models, sends names to /v1/predict and /v1/explain, shows the answers.
// Plain JavaScript, no build step, nothing fetched from anywhere but this server.
"use strict";

(function () {
  const form = document.getElementById("ask");
  const namesBox = document.getElementById("names");
  const modelBox = document.getElementById("model");
  const modelHint = document.getElementById("model-hint");
  const coverageBox = document.getElementById("coverage");
  const confidenceBox = document.getElementById("confidence");
  const button = document.getElementById("classify");
  const message = document.getElementById("message");
  const summary = document.getElementById("summary");
  const results = document.getElementById("results");

  // until /v1/models answers: the server's defaults
  let limits = { max_names: 1000, name_characters: 1000, model_name_characters: 256,
                 explain_names: 100, explain_characters: 1000 };
  let served = [];
  const NOT_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

  function say(text) {
    message.textContent = text;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function percent(p) {
    if (p >= 0.9995 && p < 1) return ">99.9%";
    if (p > 0 && p < 0.0005) return "<0.1%";
    return (p * 100).toFixed(1) + "%";
  }

  function setting(p) {
    return Number((p * 100).toFixed(1)) + "%";
  }

  async function call(path, options) {
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      throw new Error("the server cannot be reached: is `nameclf serve` still running?");
    }
    let body = null;
    try {
      body = await response.json();
    } catch (error) {
      body = null;
    }
    if (!response.ok) {
      const detail = body && body.detail ? body.detail : response.status + " " + response.statusText;
      const retry = response.headers.get("retry-after");
      throw new Error(detail + (retry ? " (retry in " + retry + " s)" : ""));
    }
    return body;
  }

  function post(path, payload) {
    return call(path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(payload),
    });
  }

  async function loadModels() {
    try {
      const answer = await call("v1/models", { headers: { accept: "application/json" } });
      limits = answer.limits;
      served = answer.models;
      modelBox.replaceChildren();
      for (const model of served) {
        const languages = model.languages.length <= 3 ? model.languages.join(", ")
                                                      : model.languages.length + labelWord(model);
        const option = element("option", null, model.name + " (" + languages + ")");
        option.value = model.name;
        option.selected = model.default;
        modelBox.appendChild(option);
      }
      describeModel();
    } catch (error) {
      say("Could not read the served models: " + error.message);
    }
  }

  // " languages" for a model of languages, " labels (country)" for one trained on a table of countries
  function labelWord(model) {
    const name = model.card && model.card.label_name;
    return !name || name === "language" ? " languages" : " labels (" + name + ")";
  }

  function describeModel() {
    const chosen = served.find((model) => model.name === modelBox.value);
    if (!chosen) return;
    const accuracy = chosen.card.metrics && chosen.card.metrics.validation_accuracy;
    const languages = chosen.languages.length <= 6 ? chosen.languages.join(", ")
                                                   : chosen.languages.length + labelWord(chosen);
    modelHint.textContent = languages +
      (typeof accuracy === "number" ? "; validation accuracy " + percent(accuracy) : "");
  }

  function numberIn(box, low, high, lowOpen, highOpen, what) {
    const value = Number(box.value);
    const tooLow = lowOpen ? value <= low : value < low;
    const tooHigh = highOpen ? value >= high : value > high;
    if (box.value.trim() === "" || Number.isNaN(value) || tooLow || tooHigh) {
      throw new Error(what);
    }
    return value;
  }

  // Names the server would refuse with the whole request are answered here, each on its own line.
  function localProblem(name) {
    if (name.length > limits.model_name_characters) {
      return "This name is " + name.length.toLocaleString("en") + " characters long; a name can be at most " +
        limits.model_name_characters + ".";
    }
    if (NOT_TEXT.test(name)) return "This name holds a control character; type it as plain text.";
    return null;
  }

  function chunks(items, size) {
    const out = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
  }

  // explain scores each name about 4 times its length: batches within the server's two limits
  function explainBatches(names) {
    const batches = [];
    let batch = [];
    let characters = 0;
    for (const name of names) {
      if (batch.length && (batch.length >= limits.explain_names ||
                           characters + name.length > limits.explain_characters)) {
        batches.push(batch);
        batch = [];
        characters = 0;
      }
      batch.push(name);
      characters += name.length;
    }
    if (batch.length) batches.push(batch);
    return batches;
  }

  function strength(value, scale) {
    const share = scale > 0 ? value / scale : 0;
    if (share >= 0.5) return "c-strong-pos";
    if (share >= 0.15) return "c-pos";
    if (share <= -0.5) return "c-strong-neg";
    if (share <= -0.15) return "c-neg";
    return "c-neutral";
  }

  function nats(value) {
    return (value >= 0 ? "+" : "") + (Math.abs(value) >= 0.005 || value === 0 ? value.toFixed(2)
                                                                                : value.toExponential(1));
  }

  function nameNode(name, explanation) {
    const node = element("span", "name");
    if (!explanation || !explanation.characters || !explanation.characters.length) {
      node.textContent = name || "(empty)";
      return node;
    }
    node.setAttribute("aria-label", name);
    const scale = Math.max(...explanation.characters.map((c) => Math.abs(c.contribution)));
    for (const item of explanation.characters) {
      const char = element("span", "char " + strength(item.contribution, scale), item.character);
      char.title = item.character + " " + nats(item.contribution) + " nats";
      char.setAttribute("aria-hidden", "true");
      node.appendChild(char);
    }
    return node;
  }

  function detail(list, term, description) {
    const row = element("div");
    row.appendChild(element("dt", null, term));
    row.appendChild(document.createTextNode(" "));
    row.appendChild(element("dd", null, description));
    list.appendChild(row);
  }

  function render(name, prediction, explanation, problem, asked) {
    const item = element("li", "result");
    const head = element("div", "result-head");
    item.appendChild(head);
    head.appendChild(nameNode(name, explanation));
    const reason = problem || (prediction && prediction.label === null && !prediction.abstained &&
                               (prediction.error || prediction.warning));
    if (reason) {
      item.classList.add("failed");
      // a warning may end in "; no answer" already: the message says it once
      item.appendChild(element("p", "problem", "No answer: " + sentence(reason.replace(/;\s*no answer\.?$/i, ""))));
      return item;
    }
    const best = prediction.top[0];
    if (prediction.abstained) {
      item.classList.add("unsure");
      head.appendChild(element("span", "badge", "unsure"));
      head.appendChild(element("span", "language", "maybe " + best.label));
    } else {
      head.appendChild(element("span", "language", prediction.label));
    }
    head.appendChild(element("span", "probability", percent(prediction.probability)));
    if (prediction.unfamiliar) {
      item.classList.add("unfamiliar");
      const badge = element("span", "badge badge-unfamiliar", "unfamiliar");
      badge.title = unfamiliarText(prediction);
      head.appendChild(badge);
    }
    const bar = element("div", "bar");
    bar.setAttribute("role", "meter");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-valuenow", (prediction.probability * 100).toFixed(1));
    bar.setAttribute("aria-label", "calibrated probability of " + best.label);
    const fill = element("div", "fill");
    fill.style.width = (prediction.probability * 100).toFixed(1) + "%";
    bar.appendChild(fill);
    item.appendChild(bar);

    const list = element("dl", "details");
    if (prediction.abstained) {
      detail(list, "Unsure:", "below " + setting(asked.min_confidence) + "; candidates " +
        prediction.top.map((c) => c.label + " " + percent(c.probability)).join(", "));
    } else if (prediction.top.length > 1) {
      detail(list, "Next:", prediction.top.slice(1).map((c) => c.label + " " + percent(c.probability)).join(", "));
    }
    if (prediction.set) {
      detail(list, "Set at " + setting(asked.coverage) + ":", prediction.set.join(", "));
    }
    if (prediction.unfamiliar) {
      detail(list, "Unfamiliar:", unfamiliarText(prediction));
    }
    if (explanation && explanation.substring) {
      detail(list, "Most telling:", "“" + explanation.substring.text + "” " + nats(explanation.substring.contribution) +
        " nats");
    }
    item.appendChild(list);
    if (prediction.warning) item.appendChild(element("p", "warning", sentence(prediction.warning)));
    return item;
  }

  // what the CLI's --json says as `unfamiliar` and `novelty_p`, in words
  function unfamiliarText(prediction) {
    const p = prediction.novelty_p;
    const share = typeof p === "number" ? (p < 0.001 ? "under 0.1%" : (p * 100).toFixed(1) + "%") : "few";
    return "this name is unlike the names the model learnt from (novelty p = " +
      (typeof p === "number" ? p.toPrecision(2) : "?") + ": " + share +
      " of names like its own look as odd); the probability above may mean little.";
  }

  function count(n, what) {
    return n.toLocaleString("en") + " " + what + (n === 1 ? "" : "s");
  }

  function sentence(text) {
    return text.charAt(0).toUpperCase() + text.slice(1) + (/[.!?]$/.test(text) ? "" : ".");
  }

  async function classify(event) {
    event.preventDefault();
    say("");
    const names = namesBox.value.split(/\r\n|\r|\n/).map((line) => line.trim()).filter((line) => line !== "");
    if (!names.length) {
      say("Type a name first, or paste a list with one name a line.");
      namesBox.focus();
      return;
    }
    let coverage;
    let minConfidence;
    try {
      coverage = numberIn(coverageBox, 0.5, 0.99, false, false, "The coverage must be between 0.5 and 0.99.");
      minConfidence = numberIn(confidenceBox, 0, 1, false, false, "“Unsure below” must be between 0 and 1.");
    } catch (error) {
      say(error.message);
      return;
    }
    const model = modelBox.value || undefined;
    const problems = names.map(localProblem);
    const sent = names.filter((name, i) => problems[i] === null);
    const asked = { coverage: coverage, min_confidence: minConfidence };
    button.disabled = true;
    summary.textContent = "Classifying " + count(names.length, "name") + "…";
    try {
      const predictions = [];
      for (const batch of chunks(sent, limits.max_names)) {
        const answer = await post("v1/predict", { names: batch, model: model, top_k: 3,
                                                   min_confidence: minConfidence, coverage: coverage });
        predictions.push(...answer.results);
      }
      const explained = sent.filter((name, i) => predictions[i].top.length > 0);
      const explanations = new Map();
      for (const batch of explainBatches(explained)) {
        const answer = await post("v1/explain", { names: batch, model: model });
        answer.results.forEach((result) => explanations.set(result.name, result));
      }
      results.replaceChildren();
      let next = 0;
      names.forEach((name, i) => {
        const prediction = problems[i] === null ? predictions[next++] : null;
        results.appendChild(render(name, prediction, explanations.get(name), problems[i], asked));
      });
      const answered = predictions.filter((p) => p.label !== null).length;
      const unsure = predictions.filter((p) => p.abstained).length;
      const failed = names.length - answered - unsure;
      const unfamiliar = predictions.filter((p) => p.unfamiliar).length;
      const by = predictions[0] ? predictions[0].model : modelBox.value;
      summary.textContent = count(names.length, "name") + ": " + answered.toLocaleString("en") + " answered" +
        (unsure ? ", " + unsure.toLocaleString("en") + " unsure" : "") +
        (unfamiliar ? ", " + unfamiliar.toLocaleString("en") + " unfamiliar" : "") +
        (failed ? ", " + failed.toLocaleString("en") + " with no answer" : "") + ", by model " + by + ".";
    } catch (error) {
      summary.textContent = "";
      say(sentence(error.message));
    } finally {
      button.disabled = false;
    }
  }

  form.addEventListener("submit", classify);
  namesBox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  modelBox.addEventListener("change", describeModel);
  loadModels();
})();
