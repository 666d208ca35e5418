"""Artifortress format plugin: npm registry for npm, pnpm and yarn."""
