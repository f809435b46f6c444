// A React page built on @ainative/react-sdk 1.0.1, exactly as its README shows, pointed at the mock.
import React from "react";
import { createRoot } from "react-dom/client";
import { AINativeProvider, useChat, useCredits } from "@ainative/react-sdk";

const params = new URLSearchParams(window.location.search);
const config = { apiKey: params.get("key"), baseUrl: params.get("base") };

function Chat() {
  const { messages, isLoading, error, response, sendMessage } = useChat({ model: "gpt-4o", max_tokens: 200 });
  return (
    <section id="chat">
      {messages.map((message, i) => (
        <p key={i} className={"message " + message.role}>
          <strong>{message.role}:</strong> <span className="content">{message.content}</span>
        </p>
      ))}
      {isLoading && <p id="loading">Loading...</p>}
      {error && <p id="error">Error: {error.message}</p>}
      {response && <p id="consumed">Credits consumed: {response.credits_consumed}</p>}
      <button id="send" onClick={() => sendMessage([...messages, { role: "user", content: "What is ZeroDB?" }])}>
        Send
      </button>
    </section>
  );
}

function CreditsDisplay() {
  const { balance, isLoading, error, refetch } = useCredits();
  if (isLoading) return <p id="credits-loading">Loading credits...</p>;
  if (error) return <p id="credits-error">Error: {error.message}</p>;
  return (
    <section id="credits">
      <h3>
        Credits: <span id="remaining">{balance?.remaining_credits}</span>
      </h3>
      <p>
        Plan: <span id="plan">{balance?.plan}</span>
      </p>
      <button id="refetch" onClick={refetch}>Refresh</button>
    </section>
  );
}

createRoot(document.getElementById("root")).render(
  <AINativeProvider config={config}>
    <Chat />
    <CreditsDisplay />
  </AINativeProvider>,
);
