/** The tenants.toml install leaves for the admin: written once, when there is none, as a commented example. */
export function renderTenantsFile(o: { companyName: string }): string {
  const company = o.companyName || "ACME Fibre";
  return `# voicebot tenants: one table per company this appliance answers for.
# The default tenant is built from voicebot.env (COMPANY_NAME, LANGUAGE, TECH_HOURS, TZ,
# TRANSFER_TARGET); a [tenants.default] table here amends it. Uncomment and adapt to add a company.
# The tenant of a call comes from the mod_audio_stream path or metadata (FreeSWITCH) or the
# dialplan's registration (Asterisk). Check with \`voicebot doctor\` after an edit, then
# \`sudo systemctl restart voicebot\`.
#
# [tenants.default]
# greeting = "Bonjour, ${company.replace(/"/g, "'")}, service après-vente."
#
# [tenants.acme]                        # the id the PBX sends: a name, or a FusionPBX domain uuid
# aliases = ["acme.example.com"]
# company_name = "ACME Fibre"
# language = "fr-FR"
# tech_hours = "mon-sat 08:00-20:00"
# timezone = "Europe/Paris"
# transfer_target = "300@acme-techs"
#
# [tenants.acme.prompts]                # any fixed phrase, by id
# goodbye = "Merci d'avoir appelé ACME, au revoir."
`;
}
