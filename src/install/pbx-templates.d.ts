/** The PBX templates in asterisk/ and freeswitch/, imported `with { type: "text" }` (embedded by bun build). */
declare module "*.tmpl" {
  const text: string;
  export default text;
}
