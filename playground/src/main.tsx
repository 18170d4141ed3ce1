import "@picocss/pico/css/pico.min.css";
import "./styles.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "urql";
import { App } from "./App";
import { client } from "./lib/client";
import { takeEmailLink } from "./lib/emailLinks";
import { Router } from "./lib/router";
import { SessionProvider } from "./lib/session";

// Before the router reads the address: an e-mailed link's token leaves the address bar.
takeEmailLink();

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <Provider value={client}>
        <Router>
          <SessionProvider>
            <App />
          </SessionProvider>
        </Router>
      </Provider>
    </StrictMode>,
  );
}
