"""Prompt templates a client can offer its user: each tells the model how to use the tools."""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer


def register(server: MCPServer) -> None:
    @server.prompt(title="Answer with citations from the knowledge base")
    def answer_with_citations(question: str) -> str:
        """Answer a question only from the organisation's documents, citing each claim."""
        return (
            "Answer the question below using only the organisation's knowledge base.\n"
            "1. Call the `search` tool with the question (and again with other wordings if the "
            "first results do not cover it).\n"
            "2. Answer only from the passages found. After each statement, cite the passage it "
            "comes from as [n] and list the sources (title and document id) at the end.\n"
            "3. If the passages do not answer it, say so plainly instead of guessing.\n"
            "(The `ask` tool gives a ready answer with citations if you prefer one step.)\n\n"
            f"Question: {question}"
        )

    @server.prompt(title="Summarise documents about a topic")
    def summarize_topic(topic: str, max_documents: str = "5") -> str:
        """Find the documents about a topic and summarise them with citations."""
        return (
            f"Summarise what the organisation's documents say about: {topic}\n"
            f"1. Call `search` for the topic and pick the (at most {max_documents}) most "
            "relevant distinct documents from the results.\n"
            "2. Call `summarize_documents` with their document ids and the topic as `query`.\n"
            "3. Present the summary with its [n] citations and the list of documents used."
        )

    @server.prompt(title="Find gaps in the knowledge base")
    def knowledge_gaps(days: str = "30") -> str:
        """Review unanswered and poorly rated questions and propose content to add."""
        return (
            f"Review the knowledge base's recent weak spots (the last {days} days).\n"
            "1. Call `unanswered_queries` and `low_rated_answers` with `since` set "
            f"{days} days ago.\n"
            "2. Group the questions by topic and, for each group, say what document is missing "
            "or what existing answer should improve, quoting example questions.\n"
            "3. End with a prioritised list of the documents to write or update."
        )
