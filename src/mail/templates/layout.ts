// The HTML frame every built-in mail shares: a centred card with inline styles, as mail clients
// need. Each template supplies only its language, title and body paragraphs.

/** Style of a paragraph in the card, and of the small grey closing one. */
export const P = "margin:0 0 16px;";
export const P_NOTE = "margin:0;font-size:14px;line-height:20px;color:#52606d;";

export function htmlMail(language: string, title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="${language}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f5f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f5f7;">
<tr>
<td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;background-color:#ffffff;border-radius:8px;">
<tr>
<td style="padding:32px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:24px;color:#1f2933;">
${body.trim()}
</td>
</tr>
</table>
</td>
</tr>
</table>
</body>
</html>
`;
}
