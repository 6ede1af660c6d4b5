import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig } from './config.js'

describe('loadConfig: BLOB_URL=s3://', () => {
  it('reads bucket, prefix, endpoint and path style, with AWS_* credentials and region', () => {
    const config = loadConfig({
      BLOB_URL: 's3://photos/site-a/?endpoint=http://127.0.0.1:4568&forcePathStyle=true',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret-example',
      AWS_REGION: 'eu-west-3',
    })
    expect(config.blobs).toEqual({
      kind: 's3',
      bucket: 'photos',
      prefix: 'site-a',
      endpoint: 'http://127.0.0.1:4568',
      region: 'eu-west-3',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret-example' },
    })
  })

  it('on AWS: virtual-hosted style, us-east-1 and the SDK credential chain by default', () => {
    expect(loadConfig({ BLOB_URL: 's3://my.photos-bucket' }).blobs).toEqual({
      kind: 's3',
      bucket: 'my.photos-bucket',
      prefix: '',
      region: 'us-east-1',
      forcePathStyle: false,
    })
    // A custom endpoint defaults to path style; URL parameters win over the env.
    const blobs = loadConfig({
      BLOB_URL:
        's3://bk1/x/y?endpoint=https://s3.example.net&region=auto-1&accessKeyId=A&secretAccessKey=S',
      AWS_ACCESS_KEY_ID: 'ENV',
      AWS_SECRET_ACCESS_KEY: 'ENVSECRET',
      AWS_SESSION_TOKEN: 'ENVTOKEN',
    }).blobs
    expect(blobs).toMatchObject({
      prefix: 'x/y',
      endpoint: 'https://s3.example.net',
      region: 'auto-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'A', secretAccessKey: 'S' },
    })
    expect(
      loadConfig({ BLOB_URL: 's3://bk1', AWS_ENDPOINT_URL_S3: 'http://minio:9000' }).blobs,
    ).toMatchObject({ endpoint: 'http://minio:9000', forcePathStyle: true })
    // The session token goes with the env's keys.
    expect(
      loadConfig({
        BLOB_URL: 's3://bk1',
        AWS_ACCESS_KEY_ID: 'A',
        AWS_SECRET_ACCESS_KEY: 'S',
        AWS_SESSION_TOKEN: 'T',
      }).blobs,
    ).toMatchObject({ credentials: { accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T' } })
  })

  it('names every problem, and never echoes a secret', () => {
    const bad = (url: string, env: Record<string, string> = {}) => {
      try {
        loadConfig({ BLOB_URL: url, ...env })
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError)
        return (error as ConfigError).problems.join('\n')
      }
      throw new Error(`${url} was accepted`)
    }
    expect(bad('s3://Photos')).toMatch(/BLOB_URL: invalid S3 bucket name "Photos"/)
    expect(bad('s3://ab')).toMatch(/invalid S3 bucket name/)
    expect(bad('s3://photos/Bad Prefix')).toMatch(/key prefix/)
    expect(bad('s3://photos?endpoint=ftp://x')).toMatch(/endpoint must be an http\(s\) URL/)
    expect(bad('s3://photos?forcePathStyle=maybe')).toMatch(/forcePathStyle must be true or false/)
    expect(bad('s3://photos?bucket=x&acl=public')).toMatch(/unknown parameter "bucket", "acl"/)
    const half = bad('s3://photos?accessKeyId=AKID', { AWS_REGION: 'eu-west-1' })
    expect(half).toMatch(/need both an access key id and a secret access key/)
    const inHost = bad('s3://AKID:topsecret@photos')
    expect(inHost).toMatch(/not in the host/)
    expect(inHost).not.toContain('topsecret')
    expect(bad('s3://photos?secretAccessKey=hush')).not.toContain('hush')
  })
})
