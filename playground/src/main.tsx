import "@picocss/pico/css/pico.min.css";
import "./styles.css";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { Provider } from "urql";
import { App } from "./App";
import { client } from "./lib/client";
import { Router } from "./lib/router";
import { SessionProvider } from "./lib/session";

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
