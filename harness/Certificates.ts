/**
 * TLS material for a test broker, generated at test time into a directory the caller owns (a
 * cluster's run dir, deleted with it): a self-signed CA and a broker certificate for 127.0.0.1 /
 * localhost signed by it. Nothing here is ever committed.
 *
 * `openssl` is preferred: it writes the broker key store as one PEM file (key + chain) that Kafka
 * reads with `ssl.keystore.type=PEM` (3.9 and 4.x). Without openssl, the JDK's `keytool` is used;
 * keytool cannot write a private key as PEM, so the key store is then PKCS12 (clients are
 * unaffected: the CA certificate is PEM either way).
 */
import * as fsp from "node:fs/promises"
import * as path from "node:path"
import { randomBytes } from "node:crypto"
import { Data, Effect } from "effect"
import { io, type KafkaJarsIoError, lastLines, runCollect } from "./KafkaJars.js"

/** The broker certificate's subject, as Kafka names the principal of an SSL client presenting it. */
export const BROKER_CERT_DN = "CN=kafka-broker"

export type BrokerKeystore =
  | { readonly type: "PEM"; readonly location: string }
  | { readonly type: "PKCS12"; readonly location: string; readonly password: string }

export interface BrokerCertificates {
  /** The CA certificate (PEM): what clients trust (`ssl.truststore.location`, type PEM). */
  readonly caFile: string
  /** The broker's private key and certificate chain. */
  readonly keystore: BrokerKeystore
  /** RFC 2253 subject of the broker certificate (`User:<dn>` is its SSL principal). */
  readonly brokerDn: string
  readonly tool: "openssl" | "keytool"
}

export class CertificateToolNotFoundError extends Data.TaggedError("CertificateToolNotFoundError")<{
  readonly tried: ReadonlyArray<string>
  readonly message: string
}> {}

export class CertificateGenerationError extends Data.TaggedError("CertificateGenerationError")<{
  readonly tool: "openssl" | "keytool"
  readonly step: string
  readonly exitCode: number | null
  readonly outputTail: ReadonlyArray<string>
  readonly message: string
}> {}

export type CertificateError = CertificateToolNotFoundError | CertificateGenerationError | KafkaJarsIoError

/** Two days: enough for any test run, and a leaked file is useless soon after. */
const VALIDITY_DAYS = "2"

/** The broker is reached as 127.0.0.1 (advertised listener) and possibly as localhost. */
const SUBJECT_ALT_NAMES = "IP:127.0.0.1,DNS:localhost"

class ToolMissing extends Data.TaggedError("ToolMissing")<{ readonly executable: string }> {}

const run = (tool: "openssl" | "keytool", executable: string, step: string, args: ReadonlyArray<string>, cwd: string) =>
  runCollect(executable, args, {
    cwd,
    onMissing: () => new ToolMissing({ executable }),
    onError: (cause) =>
      new CertificateGenerationError({ tool, step, exitCode: null, outputTail: [String(cause)], message: `${tool} ${step}: ${String(cause)}` })
  }).pipe(
    Effect.flatMap((r) => {
      if (r.exitCode === 0) return Effect.void
      const outputTail = lastLines(r.output, 20)
      return Effect.fail(
        new CertificateGenerationError({
          tool,
          step,
          exitCode: r.exitCode,
          outputTail,
          message: `${tool} ${step} exited with ${r.exitCode ?? r.signal}:\n${outputTail.join("\n")}`
        })
      )
    })
  )

const write = (file: string, text: string) => io("write", file, () => fsp.writeFile(file, text, { mode: 0o600 }))

// Own config files: the system openssl.cnf differs between distributions (and its defaults for
// `req -x509` would clash with extensions given on the command line).
const CA_CNF = `[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = effect-mm2 test CA
[v3_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
`

const BROKER_CNF = `[req]
distinguished_name = dn
prompt = no
[dn]
CN = kafka-broker
[v3_broker]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = ${SUBJECT_ALT_NAMES}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`

const withOpenssl = (dir: string) =>
  Effect.gen(function* () {
    const x = (step: string, args: ReadonlyArray<string>) => run("openssl", "openssl", step, args, dir)
    yield* write(path.join(dir, "ca.cnf"), CA_CNF)
    yield* write(path.join(dir, "broker.cnf"), BROKER_CNF)
    yield* x("version", ["version"])
    yield* x("CA", ["req", "-x509", "-config", "ca.cnf", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", VALIDITY_DAYS, "-sha256"])
    yield* x("broker key", ["req", "-new", "-config", "broker.cnf", "-newkey", "rsa:2048", "-nodes", "-keyout", "broker.raw.key", "-out", "broker.csr"])
    yield* x("broker certificate", [
      "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", `0x${randomBytes(8).toString("hex")}`,
      "-days", VALIDITY_DAYS, "-sha256", "-extfile", "broker.cnf", "-extensions", "v3_broker", "-out", "broker.crt"
    ])
    // Kafka's PEM key store only reads PKCS#8 ("BEGIN PRIVATE KEY"); older openssl writes PKCS#1
    yield* x("PKCS#8 key", ["pkcs8", "-topk8", "-nocrypt", "-in", "broker.raw.key", "-out", "broker.key"])
    const parts = yield* Effect.forEach(["broker.key", "broker.crt", "ca.pem"], (f) =>
      io("read", path.join(dir, f), () => fsp.readFile(path.join(dir, f), "utf8")))
    const keystore = path.join(dir, "broker-keystore.pem")
    yield* write(keystore, parts.map((p) => p.trimEnd() + "\n").join(""))
    // the CA key is not needed any more; do not leave it lying around longer than necessary
    yield* io("rm", path.join(dir, "ca.key"), () => fsp.rm(path.join(dir, "ca.key"), { force: true }))
    return {
      caFile: path.join(dir, "ca.pem"),
      keystore: { type: "PEM", location: keystore },
      brokerDn: BROKER_CERT_DN,
      tool: "openssl"
    } satisfies BrokerCertificates
  })

const keytoolExecutable = (): string => {
  const home = process.env["JAVA_HOME"]
  return home !== undefined && home.length > 0 ? path.join(home, "bin", "keytool") : "keytool"
}

const withKeytool = (dir: string) =>
  Effect.gen(function* () {
    const keytool = keytoolExecutable()
    const x = (step: string, args: ReadonlyArray<string>) => run("keytool", keytool, step, args, dir)
    const pass = randomBytes(12).toString("hex")
    const ca = ["-keystore", "ca.p12", "-storetype", "PKCS12", "-storepass", pass]
    const broker = ["-keystore", "broker.p12", "-storetype", "PKCS12", "-storepass", pass]
    const key = ["-keyalg", "RSA", "-keysize", "2048", "-validity", VALIDITY_DAYS]
    yield* x("CA", ["-genkeypair", "-alias", "ca", ...key, "-dname", "CN=effect-mm2 test CA", "-ext", "bc:c", ...ca])
    yield* x("export CA", ["-exportcert", "-rfc", "-alias", "ca", ...ca, "-file", "ca.pem"])
    yield* x("broker key", ["-genkeypair", "-alias", "broker", ...key, "-dname", BROKER_CERT_DN, ...broker])
    yield* x("broker request", ["-certreq", "-alias", "broker", ...broker, "-file", "broker.csr"])
    yield* x("broker certificate", [
      "-gencert", "-alias", "ca", ...ca, "-infile", "broker.csr", "-outfile", "broker.crt", "-rfc", "-validity", VALIDITY_DAYS,
      "-ext", `SAN=${SUBJECT_ALT_NAMES.replace(/IP:/g, "ip:").replace(/DNS:/g, "dns:")}`,
      "-ext", "KU=digitalSignature,keyEncipherment", "-ext", "EKU=serverAuth,clientAuth"
    ])
    yield* x("import CA", ["-importcert", "-noprompt", "-alias", "ca", ...broker, "-file", "ca.pem"])
    yield* x("import broker certificate", ["-importcert", "-noprompt", "-alias", "broker", ...broker, "-file", "broker.crt"])
    yield* io("rm", path.join(dir, "ca.p12"), () => fsp.rm(path.join(dir, "ca.p12"), { force: true }))
    return {
      caFile: path.join(dir, "ca.pem"),
      keystore: { type: "PKCS12", location: path.join(dir, "broker.p12"), password: pass },
      brokerDn: BROKER_CERT_DN,
      tool: "keytool"
    } satisfies BrokerCertificates
  })

/**
 * A CA and a broker certificate in `dir` (created if missing). `tool` forces one generator (for
 * testing the fallback); by default openssl, else keytool.
 */
export const generateBrokerCertificates = (
  dir: string,
  options: { readonly tool?: "openssl" | "keytool" } = {}
): Effect.Effect<BrokerCertificates, CertificateError> =>
  Effect.gen(function* () {
    yield* io("mkdir", dir, () => fsp.mkdir(dir, { recursive: true, mode: 0o700 }))
    const missing = (tried: ReadonlyArray<string>) =>
      new CertificateToolNotFoundError({
        tried,
        message: `cannot generate TLS certificates for a test broker: none of ${tried.join(", ")} could be run (install openssl or a JDK)`
      })
    if (options.tool === "keytool") return yield* withKeytool(dir).pipe(Effect.catchTag("ToolMissing", (e) => Effect.fail(missing([e.executable]))))
    const viaOpenssl = withOpenssl(dir)
    if (options.tool === "openssl") return yield* viaOpenssl.pipe(Effect.catchTag("ToolMissing", (e) => Effect.fail(missing([e.executable]))))
    return yield* viaOpenssl.pipe(
      Effect.catchTag("ToolMissing", (first) =>
        withKeytool(dir).pipe(Effect.catchTag("ToolMissing", (second) => Effect.fail(missing([first.executable, second.executable])))))
    )
  }).pipe(Effect.withSpan("KafkaCluster.certificates"))
