/**
 * A TLS handshake failure as a short, stable reason for counters and logs (OpenSSL's codes and
 * messages vary by version; the reasons do not).
 */
export function tlsRefusalReason(err: Error & { code?: string }): string {
  const text = `${err.code ?? ''} ${err.message}`.toUpperCase();
  if (text.includes('PEER_DID_NOT_RETURN_A_CERTIFICATE') || text.includes('NO_CERTIFICATE'))
    return 'tls-no-client-certificate';
  if (text.includes('EXPIRED')) return 'tls-certificate-expired';
  if (
    text.includes('UNKNOWN_CA') ||
    text.includes('UNABLE_TO_GET_ISSUER') ||
    text.includes('CERTIFICATE_VERIFY_FAILED') ||
    text.includes('SELF_SIGNED')
  )
    return 'tls-certificate-untrusted';
  if (text.includes('UNSUPPORTED_PROTOCOL') || text.includes('PROTOCOL_VERSION')) return 'tls-protocol-version';
  if (
    text.includes('WRONG_VERSION_NUMBER') ||
    text.includes('HTTP_REQUEST') ||
    text.includes('PACKET_LENGTH') ||
    text.includes('RECORD')
  )
    return 'tls-garbage';
  if (text.includes('TIMEOUT') || text.includes('ECONNRESET') || text.includes('SOCKET HANG UP')) return 'tls-aborted';
  return 'tls-handshake-failed';
}

/** OpenSSL's verdict on a client certificate chain (`TLSSocket.authorizationError`) as a refusal reason. */
export function authorizationReason(err: Error | string | null | undefined): string {
  const code = typeof err === 'string' ? err : ((err as { code?: string } | null)?.code ?? err?.message ?? '');
  if (/CERT_HAS_EXPIRED|CERT_NOT_YET_VALID/.test(code)) return 'tls-certificate-expired';
  if (/REVOKED/.test(code)) return 'tls-certificate-revoked';
  if (/PEER_DID_NOT_RETURN|NO_CERT/.test(code) || code === '') return 'tls-no-client-certificate';
  return 'tls-certificate-untrusted';
}
