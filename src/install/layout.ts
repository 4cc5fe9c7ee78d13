/** Where an installed voicebot lives: one place, so install, uninstall, upgrade and doctor agree. */
export const INSTALL_PATHS = {
  binary: "/usr/local/bin/voicebot",
  previousBinary: "/usr/local/bin/voicebot.previous",
  etcDir: "/etc/voicebot",
  envFile: "/etc/voicebot/voicebot.env",
  tenantsFile: "/etc/voicebot/tenants.toml",
  /** A copy of the Google service-account key the admin named, readable by the service user. */
  googleKey: "/etc/voicebot/google-service-account.json",
  pbxDir: "/etc/voicebot/pbx",
  manifest: "/etc/voicebot/install.json",
  nftFile: "/etc/voicebot/firewall.nft",
  dataDir: "/var/lib/voicebot",
  unitDir: "/etc/systemd/system",
} as const;

export const SERVICE_USER = "voicebot";
export const UNIT = "voicebot.service";
export const RECORDINGS_SERVICE = "voicebot-recordings.service";
export const RECORDINGS_TIMER = "voicebot-recordings.timer";
