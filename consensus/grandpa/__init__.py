"""GRANDPA: messages, justifications, verification; later the round logic and voter."""
